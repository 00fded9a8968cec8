"""applications (a company with its rounds) and a round's scheduled time and place

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_applications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
    )
    op.create_index(op.f("ix_applications_user_id"), "applications", ["user_id"], unique=False)
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=300), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_interviews_application_id"), ["application_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_interviews_application_id_applications"),
            "applications",
            ["application_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # One application per user and company for the interviews recorded so far.
    op.execute(
        "INSERT INTO applications (user_id, company, created_at) "
        "SELECT user_id, company, MIN(created_at) FROM interviews GROUP BY user_id, company"
    )
    op.execute(
        "UPDATE interviews SET application_id = (SELECT a.id FROM applications a "
        "WHERE a.user_id = interviews.user_id AND a.company = interviews.company)"
    )


def downgrade() -> None:
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_interviews_application_id_applications"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_interviews_application_id"))
        batch_op.drop_column("place")
        batch_op.drop_column("scheduled_at")
        batch_op.drop_column("application_id")
    op.drop_index(op.f("ix_applications_user_id"), table_name="applications")
    op.drop_table("applications")

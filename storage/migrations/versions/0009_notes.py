"""notes on an interview (追記)

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interview_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_interview_notes_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_interview_notes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_notes")),
    )
    with op.batch_alter_table("interview_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interview_notes_interview_id"), ["interview_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_interview_notes_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interview_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_notes_user_id"))
        batch_op.drop_index(batch_op.f("ix_interview_notes_interview_id"))
    op.drop_table("interview_notes")

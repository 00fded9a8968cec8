"""weekly digest: the setting, and reminders that belong to a user rather than an interview

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_DIGEST = sa.text("kind = 'digest' AND state IN ('pending', 'paused', 'sending')")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        # On for everyone, existing users too: the housekeeping pass plans their first one.
        batch_op.add_column(
            sa.Column("weekly_digest", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("interview_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            "uq_reminders_open_digest",
            ["user_id"],
            unique=True,
            sqlite_where=OPEN_DIGEST,
            postgresql_where=OPEN_DIGEST,
        )


def downgrade() -> None:
    # Rows of no interview cannot live in the older schema.
    op.execute(sa.text("DELETE FROM reminders WHERE interview_id IS NULL"))
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("uq_reminders_open_digest")
        batch_op.alter_column("interview_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("weekly_digest")

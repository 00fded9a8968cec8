"""sender contact, position and agent, follow-up tracking

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("department", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("applied_via", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("agent_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("agent_contact", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("first_followup_on", sa.Date(), nullable=True))
        # Existing rows get 0: nobody had tapped フォローした before it was counted.
        batch_op.add_column(
            sa.Column("followed_count", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("interviews", schema=None) as batch_op:
        batch_op.drop_column("followed_count")
        batch_op.drop_column("first_followup_on")
        batch_op.drop_column("agent_contact")
        batch_op.drop_column("agent_name")
        batch_op.drop_column("applied_via")
        batch_op.drop_column("department")
        batch_op.drop_column("position")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("phone")

"""Web queue: the meeting's place and attendees (場所, 出席者) travel with the job to the draft.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_jobs") as batch:
        batch.add_column(
            sa.Column("place", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("attendees", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("web_jobs") as batch:
        batch.drop_column("attendees")
        batch.drop_column("place")

"""Rule mining keeps what it found in a finished job (``asr_corrections.mined``).

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asr_corrections") as batch:
        batch.add_column(sa.Column("mined", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("asr_corrections") as batch:
        batch.drop_column("mined")

"""Web queue: the speaker labels asked for on the upload form travel with the job.

``auto`` (tell the speakers apart when the worker can), ``off``, or a number of speakers.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_jobs") as batch:
        batch.add_column(
            sa.Column("speakers", sa.String(length=8), nullable=False, server_default="auto")
        )


def downgrade() -> None:
    with op.batch_alter_table("web_jobs") as batch:
        batch.drop_column("speakers")

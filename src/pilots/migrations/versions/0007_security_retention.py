"""Login failures, deleted recordings, silent recordings, and a job identity with its department.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_user_name", "login_failures", ["user_name"])
    op.create_index("ix_login_failures_address", "login_failures", ["address"])
    op.create_index("ix_login_failures_failed_at", "login_failures", ["failed_at"])
    # Batch mode: SQLite cannot alter a table in place; elsewhere it is a plain ALTER.
    with op.batch_alter_table("web_jobs") as batch:
        batch.add_column(sa.Column("recording_deleted_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("asr_jobs") as batch:
        batch.add_column(
            sa.Column("no_speech", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        # The same recording sent by two departments is two jobs, not one overwritten.
        batch.drop_constraint("uq_asr_jobs_audio_sha256", type_="unique")
        batch.create_unique_constraint(
            "uq_asr_jobs_audio_sha256_department_id", ["audio_sha256", "department_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("asr_jobs") as batch:
        batch.drop_constraint("uq_asr_jobs_audio_sha256_department_id", type_="unique")
        batch.create_unique_constraint("uq_asr_jobs_audio_sha256", ["audio_sha256"])
        batch.drop_column("no_speech")
    with op.batch_alter_table("web_jobs") as batch:
        batch.drop_column("recording_deleted_at")
    op.drop_index("ix_login_failures_failed_at", table_name="login_failures")
    op.drop_index("ix_login_failures_address", table_name="login_failures")
    op.drop_index("ix_login_failures_user_name", table_name="login_failures")
    op.drop_table("login_failures")

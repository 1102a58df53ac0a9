"""Speech-recognition jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asr_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("processing_seconds", sa.Float(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("flag_count", sa.Integer(), nullable=True),
        sa.Column("outputs", sa.Text(), nullable=False),
        sa.Column("audio_sha256", sa.String(length=64), nullable=True),
        sa.Column("import_key", sa.String(length=64), nullable=True),
        sa.Column("import_file", sa.String(length=500), nullable=True),
        sa.Column("import_line", sa.Integer(), nullable=True),
        sa.Column("correction_minutes", sa.Float(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_asr_jobs_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_jobs"),
        sa.UniqueConstraint("audio_sha256", name="uq_asr_jobs_audio_sha256"),
        sa.UniqueConstraint("import_key", name="uq_asr_jobs_import_key"),
    )
    op.create_index("ix_asr_jobs_department_id", "asr_jobs", ["department_id"])
    op.create_index("ix_asr_jobs_meeting_date", "asr_jobs", ["meeting_date"])


def downgrade() -> None:
    op.drop_index("ix_asr_jobs_meeting_date", table_name="asr_jobs")
    op.drop_index("ix_asr_jobs_department_id", table_name="asr_jobs")
    op.drop_table("asr_jobs")

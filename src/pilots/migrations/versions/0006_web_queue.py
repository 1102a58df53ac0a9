"""Web UI: uploads, the transcription queue, the queued recordings and the finished drafts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_uploads"),
        sa.UniqueConstraint("stored_name", name="uq_web_uploads_stored_name"),
    )
    op.create_table(
        "web_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=True),
        sa.Column("original_name", sa.String(length=300), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=True),
        sa.Column("glossary", sa.Text(), nullable=True),
        sa.Column("formats", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=True),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("asr_job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["web_uploads.id"], name="fk_web_jobs_upload_id_web_uploads"
        ),
        sa.ForeignKeyConstraint(
            ["asr_job_id"], ["asr_jobs.id"], name="fk_web_jobs_asr_job_id_asr_jobs"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_web_jobs"),
    )
    op.create_index("ix_web_jobs_state", "web_jobs", ["state"])
    op.create_table(
        "web_job_audio",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["web_jobs.id"],
            name="fk_web_job_audio_job_id_web_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_web_job_audio"),
    )
    op.create_table(
        "web_job_outputs",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["web_jobs.id"],
            name="fk_web_job_outputs_job_id_web_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "format", name="pk_web_job_outputs"),
    )


def downgrade() -> None:
    op.drop_table("web_job_outputs")
    op.drop_table("web_job_audio")
    op.drop_index("ix_web_jobs_state", table_name="web_jobs")
    op.drop_table("web_jobs")
    op.drop_table("web_uploads")

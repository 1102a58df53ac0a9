"""The correction editor: a job's editable document, its saves, speaker names and active time.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asr_edit_documents",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_jobs.id"],
            name="fk_asr_edit_documents_job_id_asr_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name="pk_asr_edit_documents"),
    )
    op.create_table(
        "asr_edit_utterances",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("speaker", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_edit_documents.job_id"],
            name="fk_asr_edit_utterances_job_id_asr_edit_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "uid", name="pk_asr_edit_utterances"),
    )
    op.create_index(
        "ix_asr_edit_utterances_job_id_position", "asr_edit_utterances", ["job_id", "position"]
    )
    op.create_table(
        "asr_edit_speakers",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_edit_documents.job_id"],
            name="fk_asr_edit_speakers_job_id_asr_edit_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "label", name="pk_asr_edit_speakers"),
    )
    op.create_table(
        "asr_edit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tab", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("ops", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_edit_documents.job_id"],
            name="fk_asr_edit_log_job_id_asr_edit_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_edit_log"),
    )
    op.create_index("ix_asr_edit_log_job_id", "asr_edit_log", ["job_id"])
    op.create_table(
        "asr_edit_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("tab", sa.String(length=40), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("ended_ms", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_edit_documents.job_id"],
            name="fk_asr_edit_activity_job_id_asr_edit_documents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_edit_activity"),
    )
    op.create_index("ix_asr_edit_activity_job_id", "asr_edit_activity", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_asr_edit_activity_job_id", table_name="asr_edit_activity")
    op.drop_table("asr_edit_activity")
    op.drop_index("ix_asr_edit_log_job_id", table_name="asr_edit_log")
    op.drop_table("asr_edit_log")
    op.drop_table("asr_edit_speakers")
    op.drop_index("ix_asr_edit_utterances_job_id_position", table_name="asr_edit_utterances")
    op.drop_table("asr_edit_utterances")
    op.drop_table("asr_edit_documents")

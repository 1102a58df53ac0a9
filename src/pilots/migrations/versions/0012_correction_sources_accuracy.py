"""Corrections: where the time comes from, who finished when, the draft and its accuracy, history.

Issue 12 (SPEC §3 "Where the correction time comes from", "Draft accuracy"):
``asr_jobs`` gains the source of the correction time (``editor`` /
``self-reported``), ``finished_by`` beside ``finished_at`` (the former
``corrected_at``, renamed: it always was the moment the correction was finished),
the draft's segments (``draft_json``) and the draft accuracy (corrected
characters, edits by kind, CER); ``asr_corrections`` keeps every finish and
reopening. A correction time stored before this revision was typed by a clerk
or reported in a usage file: it becomes ``self-reported``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ACCURACY = ("corrected_characters", "edit_substitutions", "edit_insertions", "edit_deletions")


def upgrade() -> None:
    with op.batch_alter_table("asr_jobs") as batch:
        batch.alter_column("corrected_at", new_column_name="finished_at")
        batch.add_column(
            sa.Column("finished_by", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("correction_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("draft_json", sa.Text(), nullable=True))
        for name in _ACCURACY:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("cer", sa.Float(), nullable=True))
    op.execute(
        "UPDATE asr_jobs SET correction_source = 'self-reported' "
        "WHERE correction_minutes IS NOT NULL"
    )
    op.create_table(
        "asr_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.Column("done_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("minutes", sa.Float(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in _ACCURACY),
        sa.Column("cer", sa.Float(), nullable=True),
        sa.Column("corrected_file", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["asr_jobs.id"],
            name="fk_asr_corrections_job_id_asr_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_corrections"),
    )
    op.create_index("ix_asr_corrections_job_id", "asr_corrections", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_asr_corrections_job_id", table_name="asr_corrections")
    op.drop_table("asr_corrections")
    with op.batch_alter_table("asr_jobs") as batch:
        batch.drop_column("cer")
        for name in reversed(_ACCURACY):
            batch.drop_column(name)
        batch.drop_column("draft_json")
        batch.drop_column("correction_source")
        batch.drop_column("finished_by")
        batch.alter_column("finished_at", new_column_name="corrected_at")

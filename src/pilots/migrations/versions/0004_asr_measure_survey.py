"""Speech-recognition measurement (baseline rates, import rejects) and satisfaction surveys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asr_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("hours_per_audio_hour", sa.Float(), nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_asr_baselines_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_baselines"),
        sa.UniqueConstraint("department_id", name="uq_asr_baselines_department_id"),
    )
    op.create_table(
        "asr_import_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_file", sa.String(length=500), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_asr_import_rejects"),
    )
    op.create_index("ix_asr_import_rejects_import_file", "asr_import_rejects", ["import_file"])
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("department_column", sa.Text(), nullable=True),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_surveys"),
        sa.UniqueConstraint("name", name="uq_surveys_name"),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("response_key", sa.String(length=64), nullable=False),
        sa.Column("respondent_id", sa.String(length=200), nullable=True),
        sa.Column("import_file", sa.String(length=500), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("department_text", sa.Text(), nullable=False),
        sa.Column("answer_raw", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name="fk_survey_responses_survey_id_surveys"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_survey_responses_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_survey_responses"),
        sa.UniqueConstraint(
            "survey_id", "response_key", name="uq_survey_responses_survey_id_response_key"
        ),
    )
    op.create_index("ix_survey_responses_survey_id", "survey_responses", ["survey_id"])


def downgrade() -> None:
    op.drop_index("ix_survey_responses_survey_id", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_table("surveys")
    op.drop_index("ix_asr_import_rejects_import_file", table_name="asr_import_rejects")
    op.drop_table("asr_import_rejects")
    op.drop_table("asr_baselines")

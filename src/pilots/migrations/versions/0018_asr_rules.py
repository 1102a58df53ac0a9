"""Better drafts (issue 16): corrected texts, the learned rules, a web job's handouts.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asr_corrections") as batch:
        batch.add_column(sa.Column("corrected_text", sa.Text(), nullable=True))
    op.create_table(
        "asr_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.String(length=100), nullable=False),
        sa.Column("after", sa.String(length=100), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("contexts", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_asr_rules_department_id_departments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_asr_rules"),
        sa.UniqueConstraint(
            "department_id", "before", "after", name="uq_asr_rules_department_id_before_after"
        ),
    )
    op.create_index("ix_asr_rules_department_id", "asr_rules", ["department_id"])
    op.create_table(
        "web_job_materials",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["web_jobs.id"],
            name="fk_web_job_materials_job_id_web_jobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_web_job_materials"),
    )


def downgrade() -> None:
    op.drop_table("web_job_materials")
    op.drop_index("ix_asr_rules_department_id", table_name="asr_rules")
    op.drop_table("asr_rules")
    with op.batch_alter_table("asr_corrections") as batch:
        batch.drop_column("corrected_text")

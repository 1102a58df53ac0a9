"""RPA measurement: task catalog, scenario names, run log imports, runs and rejects.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rpa_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=100), nullable=False),
        sa.Column("task_name", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("manual_minutes_per_case", sa.Float(), nullable=False),
        sa.Column("cases_per_run", sa.Float(), nullable=False),
        sa.Column("residual_minutes_per_run", sa.Float(), nullable=False),
        sa.Column("exception_minutes_per_failure", sa.Float(), nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_rpa_tasks_department_id_departments"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_tasks"),
        sa.UniqueConstraint("task_id", name="uq_rpa_tasks_task_id"),
    )
    op.create_index("ix_rpa_tasks_department_id", "rpa_tasks", ["department_id"])
    op.create_table(
        "rpa_task_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_pk", sa.Integer(), nullable=False),
        sa.Column("scenario", sa.String(length=300), nullable=False),
        sa.Column("scenario_key", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_pk"],
            ["rpa_tasks.id"],
            name="fk_rpa_task_scenarios_task_pk_rpa_tasks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_task_scenarios"),
        sa.UniqueConstraint("scenario_key", name="uq_rpa_task_scenarios_scenario_key"),
    )
    op.create_index("ix_rpa_task_scenarios_task_pk", "rpa_task_scenarios", ["task_pk"])
    op.create_table(
        "rpa_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("runs_added", sa.Integer(), nullable=False),
        sa.Column("runs_updated", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_imports"),
    )
    op.create_table(
        "rpa_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("run_key", sa.String(length=100), nullable=False),
        sa.Column("scenario", sa.String(length=300), nullable=True),
        sa.Column("scenario_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("status_raw", sa.String(length=64), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("run_day", sa.Integer(), nullable=True),
        sa.Column("cases", sa.Integer(), nullable=True),
        sa.Column("robot", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("updated_import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"], ["rpa_imports.id"], name="fk_rpa_runs_import_id_rpa_imports"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_runs"),
        sa.UniqueConstraint("format", "run_key", name="uq_rpa_runs_format_run_key"),
    )
    op.create_table(
        "rpa_rejects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["rpa_imports.id"], name="fk_rpa_rejects_import_id_rpa_imports"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_rejects"),
        sa.UniqueConstraint("row_hash", name="uq_rpa_rejects_row_hash"),
    )


def downgrade() -> None:
    op.drop_table("rpa_rejects")
    op.drop_table("rpa_runs")
    op.drop_table("rpa_imports")
    op.drop_index("ix_rpa_task_scenarios_task_pk", table_name="rpa_task_scenarios")
    op.drop_table("rpa_task_scenarios")
    op.drop_index("ix_rpa_tasks_department_id", table_name="rpa_tasks")
    op.drop_table("rpa_tasks")

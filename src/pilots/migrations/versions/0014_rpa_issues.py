"""RPA operational issues: each run's error and terminal, the issue register, next year's choice.

* ``rpa_runs`` keeps the error code and the retry count beside the error
  message and the terminal (``robot``); each is NULL where the export has no
  such column. Runs stored before this revision have neither: their
  ``message`` joins code and message as they were read. No raw row was kept
  to split them from, so they are left as they are: ingesting the same logs
  again fills in their error codes and retry counts (``pilots rpa ingest``
  updates a stored run that lacks them).
* ``rpa_issues``: the RPA team's issue register (課題管理表).
* ``rpa_survey_tasks`` and ``rpa_candidate_choices``: the latest work survey's
  tasks, and the tasks chosen for the next fiscal year.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rpa_runs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("retries", sa.Integer(), nullable=True))
        batch.alter_column("robot", existing_type=sa.String(length=200), nullable=True)
        batch.alter_column("message", existing_type=sa.Text(), nullable=True)
    op.create_table(
        "rpa_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("task_id", sa.String(length=100), nullable=True),
        sa.Column("scenario_key", sa.String(length=300), nullable=True),
        sa.Column("scenario", sa.String(length=300), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("terminal", sa.String(length=200), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_issues"),
        sa.UniqueConstraint("title_key", name="uq_rpa_issues_title_key"),
    )
    op.create_table(
        "rpa_survey_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_ref", sa.String(length=300), nullable=False),
        sa.Column("task_name", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("annual_hours", sa.Float(), nullable=False),
        sa.Column("expected_hours", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_rpa_survey_tasks_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_survey_tasks"),
        sa.UniqueConstraint("task_ref", name="uq_rpa_survey_tasks_task_ref"),
    )
    op.create_table(
        "rpa_candidate_choices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("task_ref", sa.String(length=300), nullable=False),
        sa.Column("task_name", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("expected_hours", sa.Float(), nullable=True),
        sa.Column("chosen_on", sa.Date(), nullable=False),
        sa.Column("chosen_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_rpa_candidate_choices_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rpa_candidate_choices"),
        sa.UniqueConstraint("fiscal_year", "task_ref", name="uq_rpa_candidate_choices_fiscal_year"),
    )
    op.create_index(
        "ix_rpa_candidate_choices_fiscal_year", "rpa_candidate_choices", ["fiscal_year"]
    )


def downgrade() -> None:
    op.drop_index("ix_rpa_candidate_choices_fiscal_year", table_name="rpa_candidate_choices")
    op.drop_table("rpa_candidate_choices")
    op.drop_table("rpa_survey_tasks")
    op.drop_table("rpa_issues")
    runs = sa.table(
        "rpa_runs",
        sa.column("robot", sa.String()),
        sa.column("message", sa.Text()),
        sa.column("error_code", sa.String()),
    )
    # The message as the earlier revision stored it: code and message joined, '' for none.
    joined = sa.func.trim(
        sa.func.coalesce(runs.c.error_code, "") + " " + sa.func.coalesce(runs.c.message, "")
    )
    op.execute(runs.update().values(message=joined, robot=sa.func.coalesce(runs.c.robot, "")))
    with op.batch_alter_table("rpa_runs") as batch:
        batch.alter_column("message", existing_type=sa.Text(), nullable=False)
        batch.alter_column("robot", existing_type=sa.String(length=200), nullable=False)
        batch.drop_column("retries")
        batch.drop_column("error_code")

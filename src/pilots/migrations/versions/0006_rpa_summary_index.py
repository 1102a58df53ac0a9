"""RPA runs: a covering index for the summary's GROUP BY (scenario, status, day).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_rpa_runs_summary",
        "rpa_runs",
        ["scenario_key", "status", "status_raw", "run_day", "cases"],
    )


def downgrade() -> None:
    op.drop_index("ix_rpa_runs_summary", table_name="rpa_runs")

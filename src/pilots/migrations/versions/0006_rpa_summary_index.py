"""RPA runs: no covering index for the summary (tried, measured, withdrawn).

An index on (scenario_key, status, status_raw, run_day, cases) let the
summary of a million runs skip its sort (1.7 s faster) but made the ingest of
those runs 5.5 s slower, so it is not created. The revision stays so that
the chain after it is unchanged. A database upgraded while this revision
still created the index keeps it (a revision runs once) until
``DROP INDEX ix_rpa_runs_summary``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

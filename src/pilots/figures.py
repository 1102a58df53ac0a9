"""What the pilots' summaries share: the period they cover, and what they leave out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pilots.calendar import Period


@dataclass(frozen=True)
class PeriodFigures:
    """The period a summary's figures cover (SPEC §2); a period summary extends it.

    Attributes:
        fiscal_year: the fiscal year, e.g. 2019 (令和元年度).
        period: ``interim`` or ``final``.
        period_label: e.g. 令和元年度 最終（令和2年3月末時点）.
        start: the period's first day.
        as_of: its last day counted, the as-of date.
        months: months elapsed from ``start`` to ``as_of`` (SPEC §2).
    """

    fiscal_year: int
    period: str
    period_label: str
    start: date
    as_of: date
    months: int

    @staticmethod
    def fields_of(period: Period) -> dict[str, Any]:
        """The period's fields, to construct a summary with: ``Summary(**fields_of(p), …)``."""
        return {
            "fiscal_year": period.fiscal_year,
            "period": period.kind,
            "period_label": period.label,
            "start": period.start,
            "as_of": period.end,
            "months": period.months,
        }


@dataclass(frozen=True)
class Exclusion:
    """What a summary's figures leave out, how much of it, and why.

    ``what`` is a fixed key for programs (the report finds an exclusion's
    details by it, never by its text): ``unmeasured_jobs``, ``no_speech_jobs``,
    ``jobs_without_department``, ``jobs_without_accuracy`` and ``rejected_rows`` for
    speech recognition;
    ``other_runs``, ``unmatched_runs``, ``rejected_rows`` and ``undated_runs``
    for RPA; ``non_responses``, ``unrecognised`` and
    ``responses_outside_period`` for a survey. ``label`` and ``reason`` are
    what a person reads.
    """

    what: str
    label: str
    count: int
    reason: str

    @property
    def unit(self) -> str:
        """What ``count`` counts, in Japanese: 行 for rows of a file, 回 for runs, else 件."""
        return _UNITS.get(self.what, "件")


_UNITS = {"rejected_rows": "行", "other_runs": "回", "unmatched_runs": "回", "undated_runs": "回"}

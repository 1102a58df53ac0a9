"""Filling in the plan's indicators: each actual value, and its judgement against the target.

Rule (the report's 判定): an indicator without an actual value is 測定中; a
reached target is 達成; an unreached one is 未達 only once the fiscal year is
over (:func:`judge`). A computed indicator's actual value is the figure the
plan names (``asr.departments_using`` …, SPEC §6); a manual one is the value
entered, from its date on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pilots.calendar import Period, fiscal_year_bounds, format_date
from pilots.output import format_figure
from pilots.report.plan import COMPUTED_SOURCES, LEVELS, Indicator, Initiative
from pilots.report.rpa_issues import RpaOperations
from pilots.survey.measure import SurveySummary

ACHIEVED, NOT_ACHIEVED, MEASURING = "達成", "未達", "測定中"
NO_DATA = "データなし"
_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}


@dataclass(frozen=True)
class IndicatorResult:
    """One row of the indicator table.

    Attributes:
        initiative: the initiative's name.
        name: the indicator.
        level: アウトプット or アウトカム.
        target: the target as shown (≥ 70%), '' for a qualitative indicator.
        actual: the actual value (None when there is none yet).
        actual_text: the actual value as shown (83.87%, データなし, or the
            evaluator's words for a qualitative indicator).
        status: 達成, 未達 or 測定中 (qualitative: the evaluator's status or '').
        source: where the actual value comes from, in words.
        unit: the unit of target and actual.
        note: the plan's note.
    """

    initiative: str
    name: str
    level: str
    target: str
    actual: float | None
    actual_text: str
    status: str
    source: str
    unit: str
    note: str = ""


def format_value(value: float, unit: str) -> str:
    """Show a figure in its unit: 0.8387 % → 83.87%, 1803.42 時間 → 1,803.4時間, 116 → 116所属."""
    if unit == "%":
        return f"{value:.0%}" if round(value * 100, 6).is_integer() else f"{value:.2%}"
    return format_figure(value, 0 if float(value).is_integer() else 1) + unit


def _compare(actual: float, target: float, comparison: str) -> bool:
    return {
        ">=": actual >= target,
        "<=": actual <= target,
        ">": actual > target,
        "<": actual < target,
        "==": actual == target,
    }[comparison]


def year_over(period: Period, generated: date) -> bool:
    """True when the fiscal year has ended by the as-of date, and that date has come."""
    return period.end >= fiscal_year_bounds(period.fiscal_year)[1] and period.end <= generated


def judge(indicator: Indicator, actual: float | None, *, year_is_over: bool) -> str:
    """達成 / 未達 / 測定中 for a numeric indicator.

    Rule: without an actual value the indicator is 測定中. A reached target is
    達成. An unreached one is 未達 only once the fiscal year is over (a final
    report as of March 31, made after it); before that — an interim report, an
    earlier as-of date, a projection — the year is not over, so it is 測定中.
    """
    if actual is None or indicator.target is None:
        return MEASURING
    if _compare(actual, indicator.target, indicator.comparison):
        return ACHIEVED
    return NOT_ACHIEVED if year_is_over else MEASURING


def _target_text(indicator: Indicator) -> str:
    assert indicator.target is not None
    return f"{_SYMBOLS[indicator.comparison]} {format_value(indicator.target, indicator.unit)}"


def _source_text(indicator: Indicator, survey: SurveySummary | None) -> str:
    if indicator.source == "manual":
        when = format_date(indicator.value_date) if indicator.value_date else ""
        return f"手入力（{when}時点）"
    if indicator.source is None:
        return "評価者の記述"
    label = COMPUTED_SOURCES[indicator.source].label
    if survey is not None:
        label += f"、調査「{survey.survey}」"
    return f"集計値（{label}）"


def _figure_value(summary: Any, source: str) -> float | None:
    if summary is None:
        return None
    area, _, name = source.partition(".")
    if area == "rpa" and name in ("tasks", "departments"):
        rows = summary.tasks if name == "tasks" else summary.by_department
        return float(sum(1 for r in rows if r.runs > 0))
    value = getattr(summary, name)
    return None if value is None else float(value)


def evaluate(
    indicator: Indicator,
    initiative: Initiative,
    summary: Any,
    period: Period,
    *,
    year_is_over: bool,
) -> IndicatorResult:
    """Fill in one indicator's actual value and judgement.

    ``summary`` is the summary of the indicator's area (``asr``, ``survey`` or
    ``rpa``), None when it has no data.
    """
    operations = summary if isinstance(summary, RpaOperations) else None
    if indicator.kind == "qualitative" and operations is None:
        return IndicatorResult(
            initiative.name,
            indicator.name,
            LEVELS[indicator.level],
            "",
            None,
            indicator.status or "—",
            "",
            _source_text(indicator, None),
            indicator.unit,
            indicator.note,
        )
    if indicator.source == "manual":
        actual = (
            indicator.value
            if indicator.value_date is None or indicator.value_date <= period.end
            else None
        )
    else:
        actual = _figure_value(summary, indicator.source or "")
    survey = summary if isinstance(summary, SurveySummary) else None
    text = NO_DATA if actual is None else format_value(actual, indicator.unit)
    if operations is not None:
        # The register's and the choice's figures read as the sheet words them
        # (5件を抽出、4件を解決; 3所属3業務); without a target they are not judged.
        text = operations.text(indicator.source or "")
        if indicator.kind == "qualitative":
            actual = None
    return IndicatorResult(
        initiative=initiative.name,
        name=indicator.name,
        level=LEVELS[indicator.level],
        target="" if indicator.target is None else _target_text(indicator),
        actual=actual,
        actual_text=text,
        status=""
        if indicator.kind == "qualitative"
        else judge(indicator, actual, year_is_over=year_is_over),
        source=_source_text(indicator, survey),
        unit=indicator.unit,
        note=indicator.note,
    )

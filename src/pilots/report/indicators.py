"""Filling in the plan's indicators: each actual value, and its judgement against the target.

Rule (the report's 判定): an indicator without an actual value is 測定中; a
reached target is 達成; an unreached one is 未達 only once the fiscal year is
over (:func:`judge`). A computed indicator's actual value is the figure the
plan names (``asr.departments_using`` …, SPEC §6); a manual one is the value
entered, from its date on. A qualitative indicator is not judged: it shows the
figures the plan names for it, or the evaluator's latest words by the as-of date.
The RPA register's and choice's figures (report/rpa_issues.py) read as the
sheet words them: 5件を抽出、4件を解決; 3所属3業務.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pilots.calendar import Period, fiscal_year_bounds, format_date
from pilots.output import format_figure
from pilots.report.plan import COMPUTED_SOURCES, LEVELS, Indicator, Initiative, done_by
from pilots.report.rpa_issues import OPERATIONS_SOURCES, RpaOperations
from pilots.survey.measure import SurveySummary

ACHIEVED, NOT_ACHIEVED, MEASURING = "達成", "未達", "測定中"
NO_DATA = "データなし"
_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
WORDS = {">=": "以上", "<=": "以下", ">": "超", "<": "未満", "==": ""}
OPERATIONS = "rpa_operations"
"""The summary the RPA register's and choice's figures come from (:data:`OPERATIONS_SOURCES`)."""


@dataclass(frozen=True)
class FigureResult:
    """A computed figure shown as a qualitative indicator's progress (not judged).

    Attributes:
        source: the figure's name in the plan (``asr.departments_using``).
        label: what it is, in the report's words.
        value: its value (None when there is none yet).
        text: the value as shown (116所属, or データなし（測定中）).
        unit: its unit.
    """

    source: str
    label: str
    value: float | None
    text: str
    unit: str


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
        kind: ``numeric`` or ``qualitative``.
        target_words: the target as the sheet words it (70%以上), '' for a
            qualitative indicator.
        figures: the figures a qualitative indicator shows.
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
    kind: str = "numeric"
    target_words: str = ""
    figures: tuple[FigureResult, ...] = ()


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
    if indicator.source is None and not indicator.figures:
        return "評価者の記述"
    label = "、".join(
        COMPUTED_SOURCES[name].label for name in (indicator.source, *indicator.figures) if name
    )
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


def area_of(source: str) -> str:
    """The summary a figure is read from: its pilot (``asr``, ``survey`` or ``rpa``), or
    :data:`OPERATIONS` for the RPA register's and choice's figures (report/rpa_issues.py)."""
    return OPERATIONS if source in OPERATIONS_SOURCES else source.partition(".")[0]


def _value_text(summary: Any, source: str, value: float, unit: str) -> str:
    """A figure as shown: in its unit, or as the sheet words the RPA operations' figures
    (5件を抽出, 4件を解決, 3所属3業務 or 未選定)."""
    if isinstance(summary, RpaOperations):
        return summary.text(source)
    return format_value(value, unit)


def _figure(source: str, summaries: Mapping[str, Any]) -> FigureResult:
    figure = COMPUTED_SOURCES[source]
    summary = summaries.get(area_of(source))
    value = _figure_value(summary, source)
    text = (
        f"{NO_DATA}（{MEASURING}）"
        if value is None
        else _value_text(summary, source, value, figure.unit)
    )
    return FigureResult(source, figure.label, value, text, figure.unit)


def _qualitative_text(indicator: Indicator, figures: tuple[FigureResult, ...], as_of: date) -> str:
    """A qualitative indicator's actual: its figures, else the evaluator's latest words."""
    if figures:
        return "、".join(f.text for f in figures)
    done = done_by(indicator.progress, as_of)
    if done:
        return max(done, key=lambda e: e.day).text
    return indicator.status or "—"


def evaluate(
    indicator: Indicator,
    initiative: Initiative,
    summaries: Mapping[str, Any],
    period: Period,
    *,
    year_is_over: bool,
) -> IndicatorResult:
    """Fill in one indicator's actual value and judgement.

    ``summaries`` are the summaries of the areas the indicator's figures come
    from (``asr``, ``survey``, ``rpa``), None for an area without data.
    """
    if indicator.kind == "qualitative":
        figures = tuple(_figure(source, summaries) for source in indicator.figures)
        survey = summaries.get("survey")
        return IndicatorResult(
            initiative.name,
            indicator.name,
            LEVELS[indicator.level],
            "",
            None,
            _qualitative_text(indicator, figures, period.end),
            "",
            _source_text(indicator, survey if isinstance(survey, SurveySummary) else None),
            indicator.unit,
            indicator.note,
            kind="qualitative",
            figures=figures,
        )
    summary = summaries.get(area_of(indicator.source or ""))
    if indicator.source == "manual":
        actual = (
            indicator.value
            if indicator.value_date is None or indicator.value_date <= period.end
            else None
        )
    else:
        actual = _figure_value(summary, indicator.source or "")
    survey = summary if isinstance(summary, SurveySummary) else None
    assert indicator.target is not None
    return IndicatorResult(
        initiative=initiative.name,
        name=indicator.name,
        level=LEVELS[indicator.level],
        target=_target_text(indicator),
        actual=actual,
        actual_text=(
            NO_DATA
            if actual is None
            else _value_text(summary, indicator.source or "", actual, indicator.unit)
        ),
        status=judge(indicator, actual, year_is_over=year_is_over),
        source=_source_text(indicator, survey),
        unit=indicator.unit,
        note=indicator.note,
        target_words=format_value(indicator.target, indicator.unit) + WORDS[indicator.comparison],
    )

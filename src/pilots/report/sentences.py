"""The progress column's （目標の達成状況など）: each indicator, and what shows its progress.

"令和元年度に116所属で利用され、ひと月あたり平均62時間の業務削減" (SPEC §6): each
sentence states a pilot's figures as an evaluator rounds them, and its verdict
is the plan's indicator's (:mod:`pilots.report.indicators`). Beside them stand
the evaluator's own dated words, as far as they were written by the as-of date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pilots.asr.measure import AsrSummary
from pilots.calendar import Period, format_as_of, format_fiscal_year
from pilots.output import format_figure
from pilots.report.indicators import (
    ACHIEVED,
    NOT_ACHIEVED,
    WORDS,
    FigureResult,
    IndicatorResult,
    area_of,
    format_value,
)
from pilots.report.plan import Indicator, ProgressEntry, done_by
from pilots.report.rpa_issues import OPERATIONS_SOURCES, RpaOperations
from pilots.rpa.measure import RpaSummary
from pilots.survey.measure import SurveySummary

# The figures each pilot's sentence states: a figure it states is not listed again.
_ASR_FIGURES = frozenset(
    {
        "asr.departments_using",
        "asr.avg_hours_saved_per_month",
        "asr.hours_saved",
        "asr.measured_jobs",
    }
)
_RPA_FIGURES = frozenset({"rpa.reduced_hours", "rpa.reduction_rate"})
_SURVEY_FIGURES = frozenset({"survey.satisfaction_rate", "survey.valid"})


@dataclass(frozen=True)
class Achievement:
    """One item of （目標の達成状況など）: an indicator, and what shows its progress.

    Attributes:
        heading: the indicator as the column reports it (its ``heading``, else its name).
        value: a numeric indicator's actual and target (83.87%（目標 70%以上）), else ''.
        status: a numeric indicator's 達成 / 未達 / 測定中, else ''.
        sentences: what pilots computed, in an evaluator's words.
        figures: the indicator's figures that no sentence states (shown as they are).
        notes: the evaluator's own words, those written by the as-of date.
    """

    heading: str
    value: str
    status: str
    sentences: list[str]
    figures: list[FigureResult]
    notes: list[ProgressEntry]


def about(value: float, *, percent: bool = False) -> str:
    """A figure as an evaluator rounds it in prose: 約1,800 (hours), 約84 (percent)."""
    if percent:
        return f"{value * 100:.0f}"
    step = 100 if value >= 1000 else 10 if value >= 100 else 1
    return f"{round(value / step) * step:,.0f}"


def _when(period: Period) -> str:
    if period.kind == "final" and period.end.month == 3:
        return f"{format_fiscal_year(period.fiscal_year)}に"
    return f"{format_as_of(period.end).removesuffix('時点')}までに"


def _asr_sentence(period: Period, asr: AsrSummary) -> str:
    # A saving that rounds below zero is an increase of work, and is said so.
    saved = round(asr.avg_hours_saved_per_month)
    effect = (
        f"{format_figure(-saved, 0)}時間の業務増"
        if saved < 0
        else f"{format_figure(saved, 0)}時間の業務削減"
    )
    # Where the editor measured correction times, the sentence says how many rest on each source.
    sources = asr.correction
    split = (
        f"。うち修正時間を修正エディタで計測したもの{sources.measured_jobs:,}件、"
        f"自己申告{sources.self_reported_jobs:,}件"
        if sources.measured_jobs
        else ""
    )
    return (
        f"{_when(period)}{asr.departments_using}所属で利用され、ひと月あたり平均{effect}"
        f"（導入前後の比較、修正時間の報告がある{asr.measured_jobs:,}件による{split}）となった。"
    )


def _survey_sentence(indicator: Indicator, result: IndicatorResult, s: SurveySummary) -> str:
    """The satisfaction sentence, judged as the indicator table judges (the plan's target);
    for another indicator that names the survey's figures, the rate alone."""
    assert s.satisfaction_rate is not None and s.ci95 is not None
    text = (
        f"利用所属の満足度（大変満足＋満足）は{s.satisfaction_rate:.2%}"
        f"（有効回答{s.valid}件中{s.satisfied}件）"
    )
    if indicator.target is None or indicator.source != "survey.satisfaction_rate":
        return text + "。"  # not this indicator's target: the rate alone
    goal = f"目標（{format_value(indicator.target, '%')}{WORDS[indicator.comparison]}）"
    text += "で、"
    if result.status == ACHIEVED:
        text += f"{goal}を達成した"
        if indicator.comparison in (">=", ">"):
            text += (
                "（95%信頼区間の下限でも目標を上回る）"
                if s.ci95[0] >= indicator.target
                else f"（95%信頼区間は{s.ci95[0]:.1%}〜{s.ci95[1]:.1%}で、下限は目標を下回る）"
            )
    elif result.status == NOT_ACHIEVED:
        text += f"{goal}に届かなかった"
    else:
        text += f"現時点では{goal}に届いていない（年度途中）"
    return text + "。"


def _rpa_sentence(rpa: RpaSummary, rate: tuple[Indicator, IndicatorResult] | None) -> str:
    """The RPA sentence; its verdict is the plan's reduction-rate indicator's, if there is one."""
    assert rpa.reduction_rate is not None
    text = (
        f"RPAの試行により約{about(rpa.reduced_hours)}時間の作業時間を削減し、削減率は約"
        f"{about(rpa.reduction_rate, percent=True)}%"
    )
    if rate is None:
        return text + "となった。"
    indicator, result = rate
    assert indicator.target is not None
    verdict = {
        ACHIEVED: "目標を達成した",
        NOT_ACHIEVED: "目標に届かなかった",
    }.get(result.status, "現時点では目標に届いていない（年度途中）")
    return f"{text}（目標{format_value(indicator.target, '%')}）で{verdict}。"


def _operations_sentence(period: Period, name: str, ops: RpaOperations) -> str:
    """The register's sentence (抽出・解決 by the as-of date, SPEC §4) or the choice's
    (next year's tasks chosen by the as-of date, SPEC §1)."""
    if name == "rpa.candidates_selected":
        year = format_fiscal_year(ops.candidates.for_year)
        if ops.candidates_selected:
            return f"{year}の適用候補として{ops.candidates.text}を選定した。"
        return f"{year}の適用候補は{format_as_of(period.end)}で未選定である。"
    if ops.issues_extracted:
        return (
            f"{_when(period)}実運用上の課題を{ops.issues_extracted}件抽出し、"
            f"うち{ops.issues_resolved}件を解決した（課題管理表による）。"
        )
    return f"{format_as_of(period.end)}で課題管理表に登録された課題はない。"


def _manual_sentence(result: IndicatorResult) -> str:
    if result.actual is None:
        return f"{result.name}は{result.note or '実績値が未入力'}（目標 {result.target}）。"
    verdict = {ACHIEVED: "目標を達成した", NOT_ACHIEVED: "目標に届かなかった"}.get(
        result.status, "測定中である"
    )
    return f"{result.name}は{result.actual_text}（{result.source}、目標 {result.target}）" + (
        f"で、{verdict}。"
    )


class _Sentences:
    """The sentences of one initiative: each pilot's said once, under the first indicator
    that names one of its figures."""

    def __init__(
        self,
        period: Period,
        pairs: Sequence[tuple[Indicator, IndicatorResult]],
    ) -> None:
        self.period = period
        self.rate = next(((i, r) for i, r in pairs if i.source == "rpa.reduction_rate"), None)
        self.said: set[str] = set()  # the pilots (and surveys) whose sentence was said

    def for_indicator(
        self, indicator: Indicator, result: IndicatorResult, summaries: Mapping[str, Any]
    ) -> tuple[list[str], list[FigureResult]]:
        """The indicator's sentences, and its figures that no sentence states."""
        out: list[str] = []
        unstated: list[FigureResult] = []
        figures = {f.source: f for f in result.figures}
        for name in (indicator.source, *indicator.figures):
            if name is None or name == "manual":
                continue
            sentence, covered = self._sentence(name, indicator, result, summaries)
            if sentence:
                out.append(sentence)
            elif name in figures and not covered:
                unstated.append(figures[name])
        if indicator.source == "manual":
            out.append(_manual_sentence(result))
        return out, unstated

    def _sentence(
        self,
        name: str,
        indicator: Indicator,
        result: IndicatorResult,
        summaries: Mapping[str, Any],
    ) -> tuple[str, bool]:
        """The pilot's sentence for figure ``name`` if not said yet, and whether it was said."""
        summary = summaries.get(area_of(name))
        if name in _ASR_FIGURES and isinstance(summary, AsrSummary):
            if "asr" in self.said:
                return "", True
            self.said.add("asr")
            return _asr_sentence(self.period, summary), True
        if (
            name in _SURVEY_FIGURES
            and isinstance(summary, SurveySummary)
            and summary.satisfaction_rate is not None
        ):
            if f"survey:{summary.survey}" in self.said:
                return "", True
            self.said.add(f"survey:{summary.survey}")
            return _survey_sentence(indicator, result, summary), True
        if (
            name in _RPA_FIGURES
            and isinstance(summary, RpaSummary)
            and summary.reduction_rate is not None
        ):
            if "rpa" in self.said:
                return "", True
            self.said.add("rpa")
            return _rpa_sentence(summary, self.rate), True
        if name in OPERATIONS_SOURCES and isinstance(summary, RpaOperations):
            said = "rpa.candidates" if name == "rpa.candidates_selected" else "rpa.issues"
            if said in self.said:
                return "", True
            self.said.add(said)
            return _operations_sentence(self.period, name, summary), True
        return "", False


def achievements(
    period: Period,
    pairs: Sequence[tuple[Indicator, IndicatorResult]],
    summaries: Sequence[Mapping[str, Any]],
) -> list[Achievement]:
    """The （目標の達成状況など） of one initiative, from its own indicators, in the plan's order.

    A numeric indicator is always listed (its actual against its target); a
    qualitative one when something shows its progress by the as-of date: the
    sentences of the figures it names, or the evaluator's words.

    Args:
        period: the report's period (its end is the as-of date).
        pairs: the initiative's indicators and their results.
        summaries: for each indicator, the summaries of the areas it cites.
    """
    sentences = _Sentences(period, pairs)
    out: list[Achievement] = []
    for (indicator, result), by_area in zip(pairs, summaries, strict=True):
        said, figures = sentences.for_indicator(indicator, result, by_area)
        notes = done_by(indicator.progress, period.end)
        if indicator.status:
            notes.insert(0, ProgressEntry(period.start, indicator.status))
        numeric = indicator.kind == "numeric"
        if not (numeric or said or figures or notes):
            continue
        out.append(
            Achievement(
                heading=indicator.heading or indicator.name,
                value=f"{result.actual_text}（目標 {result.target_words}）" if numeric else "",
                status=result.status if numeric else "",
                sentences=said,
                figures=figures,
                notes=notes,
            )
        )
    return out

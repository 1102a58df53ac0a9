"""The sentences an evaluator would write in the progress column, judged as the table judges.

"令和元年度に116所属で利用され、ひと月あたり平均62時間の業務削減" (SPEC §6): each
sentence states a pilot's figures as an evaluator rounds them, and its verdict
is the plan's indicator's (:mod:`pilots.report.indicators`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pilots.asr.measure import AsrSummary
from pilots.calendar import Period, format_as_of, format_fiscal_year
from pilots.output import format_figure
from pilots.report.indicators import ACHIEVED, NOT_ACHIEVED, IndicatorResult, format_value
from pilots.report.plan import Indicator
from pilots.rpa.measure import RpaSummary
from pilots.survey.measure import SurveySummary

_WORDS = {">=": "以上", "<=": "以下", ">": "超", "<": "未満", "==": ""}


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
    """The satisfaction sentence, judged as the indicator table judges (the plan's target)."""
    assert s.satisfaction_rate is not None and s.ci95 is not None
    assert indicator.target is not None
    goal = f"目標（{format_value(indicator.target, '%')}{_WORDS[indicator.comparison]}）"
    text = (
        f"利用所属の満足度（大変満足＋満足）は{s.satisfaction_rate:.2%}"
        f"（有効回答{s.valid}件中{s.satisfied}件）で、"
    )
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


def _manual_sentence(result: IndicatorResult) -> str:
    if result.actual is None:
        return f"{result.name}は{result.note or '実績値が未入力'}（目標 {result.target}）。"
    verdict = {ACHIEVED: "目標を達成した", NOT_ACHIEVED: "目標に届かなかった"}.get(
        result.status, "測定中である"
    )
    return f"{result.name}は{result.actual_text}（{result.source}、目標 {result.target}）" + (
        f"で、{verdict}。"
    )


def progress_sentences(
    period: Period,
    pairs: Sequence[tuple[Indicator, IndicatorResult]],
    summaries: Sequence[Any],
) -> list[str]:
    """The progress column's sentences for one initiative, from its own indicators."""
    out: list[str] = []
    areas = {i.source.partition(".")[0] for i, _r in pairs if i.source and i.source != "manual"}
    asr = next((s for s in summaries if isinstance(s, AsrSummary)), None)
    if "asr" in areas and asr is not None:
        out.append(_asr_sentence(period, asr))
    done: set[str] = set()
    for (indicator, result), summary in zip(pairs, summaries, strict=True):
        if (
            indicator.source == "survey.satisfaction_rate"
            and isinstance(summary, SurveySummary)
            and summary.satisfaction_rate is not None
            and indicator.target is not None
            and summary.survey not in done
        ):
            done.add(summary.survey)
            out.append(_survey_sentence(indicator, result, summary))
    rpa = next((s for s in summaries if isinstance(s, RpaSummary)), None)
    if "rpa" in areas and rpa is not None and rpa.reduction_rate is not None:
        rate = next(((i, r) for i, r in pairs if i.source == "rpa.reduction_rate"), None)
        out.append(_rpa_sentence(rpa, rate))
    out += [_manual_sentence(r) for i, r in pairs if i.source == "manual"]
    out += [
        f"{r.name}: {r.actual_text}"
        for _i, r in pairs
        if r.actual is None and r.status == "" and r.actual_text != "—"
    ]
    return out

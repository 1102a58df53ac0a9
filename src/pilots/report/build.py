"""Assembling the effect report: the plan's indicators filled in from the computed figures.

The report is the progress sheet of the year with its third column —
進捗状況（R2年3月末時点） — filled in: each numeric indicator's actual value
from the figure the plan names, judged against its target; the milestones of
the schedule with their state; the sentences an evaluator would write; and
what was excluded from each figure, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from pilots.asr.measure import AsrSummary
from pilots.asr.measure import summarize as summarize_asr
from pilots.calendar import PERIOD_LABELS, Period, format_as_of, format_date, format_fiscal_year
from pilots.output import format_figure
from pilots.report.plan import LEVELS, Indicator, Initiative, Plan, milestone_state
from pilots.rpa.measure import RpaSummary
from pilots.rpa.measure import summarize as summarize_rpa
from pilots.survey.measure import SurveySummary, list_surveys, summarize_survey

ACHIEVED, NOT_ACHIEVED, MEASURING = "達成", "未達", "測定中"
NO_DATA = "データなし"


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


@dataclass(frozen=True)
class MilestoneResult:
    """A step of the schedule and its state on the as-of date."""

    label: str
    when: str
    state: str


@dataclass(frozen=True)
class InitiativeResult:
    """One initiative in the three columns of the progress sheet."""

    key: str
    name: str
    what: str
    target_text: str
    milestones: list[MilestoneResult]
    indicators: list[IndicatorResult]
    progress: list[str]


@dataclass(frozen=True)
class QualityItem:
    """A record left out of a figure: what, how many, and why."""

    area: str
    what: str
    count: int
    reason: str
    details: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything the HTML, Excel and Markdown reports are written from."""

    plan: Plan
    period: Period
    generated: date
    asr: AsrSummary | None
    survey: SurveySummary | None
    rpa: RpaSummary | None
    initiatives: list[InitiativeResult]
    indicators: list[IndicatorResult]
    sentences: list[str]
    method: list[tuple[str, str]]
    quality: list[QualityItem]

    @property
    def title(self) -> str:
        """E.g. 令和元年度 IT施策の効果測定報告（最終）."""
        label = PERIOD_LABELS[self.period.kind]
        return f"{format_fiscal_year(self.period.fiscal_year)} {self.plan.title}（{label}）"

    @property
    def as_of_text(self) -> str:
        """E.g. 令和2年3月末時点."""
        return format_as_of(self.period.end)

    @property
    def as_of_short(self) -> str:
        """E.g. R2年3月末時点 (the progress column's header)."""
        return format_as_of(self.period.end, "short")


def _figure_value(report_figures: dict[str, Any], source: str) -> float | None:
    area, _, name = source.partition(".")
    summary = report_figures.get(area)
    if summary is None:
        return None
    if area == "rpa" and name in ("tasks", "departments"):
        rows = summary.tasks if name == "tasks" else summary.by_department
        return float(sum(1 for r in rows if r.runs > 0))
    value = getattr(summary, name)
    return None if value is None else float(value)


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


def judge(indicator: Indicator, actual: float | None, period: Period) -> str:
    """達成 / 未達 / 測定中 for a numeric indicator.

    Rule: without an actual value the indicator is 測定中. A reached target is
    達成. An unreached one is 未達 in the final report; in an interim report
    the year is not over, so it is 測定中.
    """
    if actual is None or indicator.target is None:
        return MEASURING
    if _compare(actual, indicator.target, indicator.comparison):
        return ACHIEVED
    return NOT_ACHIEVED if period.kind == "final" else MEASURING


def _source_text(indicator: Indicator) -> str:
    if indicator.source == "manual":
        when = format_date(indicator.value_date) if indicator.value_date else ""
        return f"手入力（{when}時点）"
    return f"集計値 {indicator.source}" if indicator.source else "評価者の記述"


def evaluate(
    indicator: Indicator, initiative: Initiative, figures: dict[str, Any], period: Period
) -> IndicatorResult:
    """Fill in one indicator's actual value and judgement."""
    symbol = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}[indicator.comparison]
    if indicator.kind == "qualitative":
        return IndicatorResult(
            initiative.name,
            indicator.name,
            LEVELS[indicator.level],
            "",
            None,
            indicator.status or "—",
            "",
            _source_text(indicator),
            indicator.unit,
            indicator.note,
        )
    assert indicator.target is not None
    if indicator.source == "manual":
        actual = (
            indicator.value
            if indicator.value_date is None or indicator.value_date <= period.end
            else None
        )
    else:
        actual = _figure_value(figures, indicator.source or "")
    return IndicatorResult(
        initiative=initiative.name,
        name=indicator.name,
        level=LEVELS[indicator.level],
        target=f"{symbol} {format_value(indicator.target, indicator.unit)}",
        actual=actual,
        actual_text=NO_DATA if actual is None else format_value(actual, indicator.unit),
        status=judge(indicator, actual, period),
        source=_source_text(indicator),
        unit=indicator.unit,
        note=indicator.note,
    )


def about(value: float, *, percent: bool = False) -> str:
    """A figure as an evaluator rounds it in prose: 約1,800 (hours), 約84 (percent)."""
    if percent:
        return f"{value * 100:.0f}"
    step = 100 if value >= 1000 else 10 if value >= 100 else 1
    return f"{round(value / step) * step:,.0f}"


def sentences(
    period: Period, asr: AsrSummary | None, survey: SurveySummary | None, rpa: RpaSummary | None
) -> dict[str, list[str]]:
    """The sentences an evaluator would write, per area, from the figures alone."""
    when = (
        f"{format_fiscal_year(period.fiscal_year)}に"
        if period.kind == "final" and period.end.month == 3
        else f"{format_as_of(period.end).removesuffix('時点')}までに"
    )
    out: dict[str, list[str]] = {"asr": [], "survey": [], "rpa": []}
    if asr is not None and asr.jobs:
        # A saving that rounds below zero is an increase of work, and is said so.
        saved = round(asr.avg_hours_saved_per_month)
        effect = (
            f"{format_figure(-saved, 0)}時間の業務増"
            if saved < 0
            else f"{format_figure(saved, 0)}時間の業務削減"
        )
        out["asr"].append(
            f"{when}{asr.departments_using}所属で利用され、ひと月あたり平均{effect}"
            f"（導入前後の比較、修正時間の報告がある{asr.measured_jobs:,}件による）となった。"
        )
    if survey is not None and survey.satisfaction_rate is not None and survey.ci95 is not None:
        confidence = (
            "（95%信頼区間の下限でも目標を上回る）"
            if survey.met_with_confidence
            else f"（95%信頼区間は{survey.ci95[0]:.1%}〜{survey.ci95[1]:.1%}で、"
            "下限は目標を下回る）"
        )
        out["survey"].append(
            f"利用所属の満足度（大変満足＋満足）は{survey.satisfaction_rate:.2%}"
            f"（有効回答{survey.valid}件中{survey.satisfied}件）で、目標（{survey.target:.0%}以上）を"
            f"{'達成した' if survey.met else '下回った'}{confidence if survey.met else ''}。"
        )
    if rpa is not None and rpa.reduction_rate is not None:
        verdict = "目標を達成した" if rpa.met else "目標に届かなかった"
        out["rpa"].append(
            f"RPAの試行により約{about(rpa.reduced_hours)}時間の作業時間を削減し、削減率は約"
            f"{about(rpa.reduction_rate, percent=True)}%（目標{rpa.target_rate:.0%}）で{verdict}。"
        )
    return out


def _areas(initiative: Initiative) -> set[str]:
    return {
        i.source.partition(".")[0]
        for i in initiative.indicators
        if i.source and i.source != "manual"
    }


def _manual_sentence(result: IndicatorResult) -> str:
    if result.actual is None:
        return f"{result.name}は{result.note or '実績値が未入力'}（目標 {result.target}）。"
    verdict = {ACHIEVED: "目標を達成した", NOT_ACHIEVED: "目標に届かなかった"}.get(
        result.status, "測定中である"
    )
    return f"{result.name}は{result.actual_text}（{result.source}、目標 {result.target}）" + (
        f"で、{verdict}。"
    )


def _quality(
    asr: AsrSummary | None, survey: SurveySummary | None, rpa: RpaSummary | None
) -> list[QualityItem]:
    items: list[QualityItem] = []
    if asr is not None:
        items.append(
            QualityItem(
                "音声認識",
                "修正時間が未報告のジョブ",
                asr.unmeasured_jobs,
                "利用件数には数え、削減時間には含めない（推計しない）",
                [
                    f"#{u.job_id} {u.department} {format_date(u.meeting_date)} "
                    f"録音{u.audio_minutes:g}分"
                    for u in asr.unmeasured
                ],
            )
        )
        if asr.excluded_jobs:
            items.append(
                QualityItem(
                    "音声認識",
                    "音声が検出されなかった録音",
                    asr.excluded_jobs,
                    "話し声のない録音は会議の利用ではないため、利用件数・利用所属数・削減時間の"
                    "いずれにも含めない",
                    [
                        f"#{x.job_id} {x.department} {format_date(x.meeting_date)} "
                        f"録音{x.audio_minutes:g}分"
                        for x in asr.excluded
                    ],
                )
            )
        if asr.jobs_without_department:
            items.append(
                QualityItem(
                    "音声認識",
                    "所属不明のジョブ",
                    asr.jobs_without_department,
                    "利用所属数に数えない（削減時間は既定の従来作業時間率で計算）",
                )
            )
        items.append(
            QualityItem(
                "音声認識",
                "取り込めなかった利用報告の行",
                len(asr.rejected_rows),
                "読めない行（日付・時間の誤り等）は集計から除外",
                [f"{r.file} {r.line}行目: {r.reason}" for r in asr.rejected_rows],
            )
        )
    if rpa is not None:
        for exclusion in rpa.excluded:
            details = []
            if "シナリオ" in exclusion.what or "unmatched" in exclusion.what:
                details = [f"{s.scenario}（{s.runs:,}回）" for s in rpa.unmatched_scenarios]
            elif exclusion.what.startswith("その他"):
                details = [f"{k}: {v:,}回" for k, v in rpa.other_by_status.items()]
            items.append(
                QualityItem("RPA", exclusion.what, exclusion.count, exclusion.reason, details)
            )
    if survey is not None:
        items.append(
            QualityItem(
                "満足度調査",
                "無回答",
                survey.non_responses,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw or '（空欄）'}"
                    for e in survey.excluded
                    if e.status != "unrecognised"
                ],
            )
        )
        items.append(
            QualityItem(
                "満足度調査",
                "5段階にない回答",
                survey.unrecognised,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw}"
                    for e in survey.excluded
                    if e.status == "unrecognised"
                ],
            )
        )
    return items


def _method(
    period: Period, asr: AsrSummary | None, survey: SurveySummary | None, rpa: RpaSummary | None
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [
        (
            "対象期間",
            f"{format_date(period.start)}〜{format_date(period.end)}"
            f"（経過月数 {period.months}か月）",
        ),
        (
            "判定",
            "実績値が目標に達していれば「達成」。最終報告で達していなければ「未達」、"
            "中間報告では年度途中のため「測定中」。実績値がなければ「測定中」（データなし）。",
        ),
        (
            "スケジュール",
            "各項目の期間が基準日までに終わっていれば「完了」、始まっていれば「実施中」、"
            "それ以外は「予定」。計画ファイルの done 指定があればそれに従う。",
        ),
    ]
    if asr is not None:
        rows += [(f"音声認識: {name}", text) for name, text in asr.rules.items()]
    if survey is not None:
        rows += [(f"満足度: {name}", text) for name, text in survey.rules.items()]
    if rpa is not None:
        rows.append(("RPA: 削減時間と削減率", rpa.rule))
    return rows


def build_report(
    session: Session,
    plan: Plan,
    period: Period,
    *,
    default_baseline_rate: float,
    satisfaction_target: float,
    rpa_target: float,
    generated: date,
) -> Report:
    """Compute every figure the plan asks for and assemble the report.

    A pilot without data gets no summary (None); its indicators show データなし
    and 測定中, and the report is still written.
    """
    asr = summarize_asr(session, period, default_rate=default_baseline_rate)
    asr_or_none = asr if asr.jobs else None
    surveys = list_surveys(session)
    survey = (
        summarize_survey(session, surveys[0], target=satisfaction_target, as_of=period.end)
        if len(surveys) == 1
        else None
    )
    if survey is not None and survey.responses == 0:
        survey = None  # every answer came in after the as-of date: not measured yet
    rpa = summarize_rpa(session, period, target_rate=rpa_target)
    rpa_or_none = rpa if (rpa.runs_success + rpa.runs_failure + rpa.other_runs) else None
    figures: dict[str, Any] = {"asr": asr_or_none, "survey": survey, "rpa": rpa_or_none}
    text = sentences(period, asr_or_none, survey, rpa_or_none)
    initiatives: list[InitiativeResult] = []
    all_results: list[IndicatorResult] = []
    all_sentences: list[str] = []
    for initiative in plan.initiatives:
        results = [evaluate(i, initiative, figures, period) for i in initiative.indicators]
        progress = [s for area in sorted(_areas(initiative)) for s in text.get(area, [])]
        progress += [
            _manual_sentence(r)
            for r, i in zip(results, initiative.indicators, strict=True)
            if i.source == "manual"
        ]
        progress += [
            f"{r.name}: {r.actual_text}"
            for r in results
            if r.actual is None and r.status == "" and r.actual_text != "—"
        ]
        milestones = [
            MilestoneResult(
                m.label,
                format_date(m.start, "short")
                if m.start == m.end
                else f"{format_date(m.start, 'short')}〜{format_date(m.end, 'short')}",
                milestone_state(m, period.end),
            )
            for m in initiative.milestones
        ]
        initiatives.append(
            InitiativeResult(
                initiative.key,
                initiative.name,
                initiative.what,
                initiative.target_text,
                milestones,
                results,
                progress,
            )
        )
        all_results += results
        all_sentences += progress
    return Report(
        plan=plan,
        period=period,
        generated=generated,
        asr=asr_or_none,
        survey=survey,
        rpa=rpa_or_none,
        initiatives=initiatives,
        indicators=all_results,
        sentences=all_sentences,
        method=_method(period, asr_or_none, survey, rpa_or_none),
        quality=_quality(asr_or_none, survey, rpa_or_none),
    )

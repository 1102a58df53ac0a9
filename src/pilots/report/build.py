"""Assembling the effect report: the plan's indicators filled in from the computed figures.

The report is the progress sheet of the year with its third column —
進捗状況（R2年3月末時点） — filled in: each numeric indicator's actual value
from the figure the plan names, judged against the plan's target; the
milestones of the schedule with their state; the sentences an evaluator would
write, judged against the same targets; and what was excluded from each
figure, and why.

Each part has its module — the indicators and their judgement
(:mod:`pilots.report.indicators`), the sentences (:mod:`pilots.report.sentences`),
the survey each indicator uses (:mod:`pilots.report.surveys`), the data-quality
section (:mod:`pilots.report.quality`); this one computes the summaries,
assembles the parts and states the method (集計方法).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pilots.asr.measure import AsrSummary
from pilots.asr.measure import summarize as summarize_asr
from pilots.calendar import (
    PERIOD_LABELS,
    Period,
    format_as_of,
    format_date,
    format_fiscal_year,
)
from pilots.errors import ConfigError
from pilots.report.indicators import IndicatorResult, evaluate, year_over
from pilots.report.plan import Plan, load_plan, milestone_state
from pilots.report.plan_store import load_stored_plan
from pilots.report.quality import QualityItem, quality_items
from pilots.report.sentences import progress_sentences
from pilots.report.surveys import SurveyChoice
from pilots.rpa.measure import RpaSummary
from pilots.rpa.measure import summarize as summarize_rpa
from pilots.survey.measure import SurveySummary

# The rules of each summary, by the names the summaries give them, as the report titles them.
_RULE_LABELS = {
    "saved": "削減時間（ジョブごと）",
    "departments_using": "利用所属数",
    "hours_saved": "削減時間の合計",
    "avg_hours_saved_per_month": "ひと月あたりの削減時間",
    "baseline_rate": "従来作業時間率",
    "correction_source": "修正時間の出どころ（計測・自己申告）",
    "accuracy": "認識精度（文字誤り率）",
    "valid": "有効回答",
    "satisfaction_rate": "満足度",
    "ci95": "95%信頼区間",
    "as_of": "数える回答",
    "met": "目標の達成",
    "met_with_confidence": "信頼区間で見た目標の達成",
}


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


@dataclass
class Report:
    """Everything the HTML, Excel and Markdown reports are written from.

    ``asr`` and ``rpa`` are None when the period has nothing to measure yet;
    ``surveys`` are the surveys the indicators use. ``notes`` are what the
    evaluator must know before reading the figures (a projection, a survey
    that could not be chosen …): the cover shows them.
    """

    plan: Plan
    period: Period
    generated: date
    asr: AsrSummary | None
    surveys: list[SurveySummary]
    rpa: RpaSummary | None
    initiatives: list[InitiativeResult]
    indicators: list[IndicatorResult]
    sentences: list[str]
    method: list[tuple[str, str]]
    quality: list[QualityItem]
    notes: list[str] = field(default_factory=list)

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

    @property
    def projection(self) -> bool:
        """True when the as-of date lies after the day the report was made (見込み)."""
        return self.period.end > self.generated


def report_period(chosen: Period, *, as_of_given: bool, today: date, projection: bool) -> Period:
    """The period a report covers, its as-of date checked against today (SPEC §2).

    Rule: without an as-of date the report is as of the period's end or
    today, whichever is earlier — a final report run in November is as of
    that day, its months elapsed counted to November. An as-of date after
    today (given, or the period's end of a year not over) is a projection
    (見込み) and is refused unless ``projection`` asks for it.

    Args:
        chosen: the period with its end (the nominal end, or the as-of date given).
        as_of_given: the as-of date was given explicitly.
        today: today's date (:func:`pilots.calendar.today`).
        projection: a later as-of date is wanted (the report then says so).

    Raises:
        ConfigError: an as-of date after today without ``projection``, or a
            fiscal year that has not begun.
    """
    if projection or chosen.end <= today:
        return chosen
    if as_of_given:
        raise ConfigError(
            "--as-of",
            f"基準日 {chosen.end.isoformat()}（{format_date(chosen.end)}）は今日"
            f"（{format_date(today)}）より後です。見込みのレポートにするときは、見込みとして"
            "作ることを指定してください（--projection）",
        )
    if today < chosen.start:
        raise ConfigError(
            "--fy",
            f"{format_fiscal_year(chosen.fiscal_year)}はまだ始まっていません"
            f"（{format_date(chosen.start)}から）。見込みのレポートにするときは、見込みとして"
            "作ることを指定してください（--projection）",
        )
    return replace(chosen, end=today)


def _method(
    period: Period,
    asr: AsrSummary | None,
    surveys: Sequence[SurveySummary],
    rpa: RpaSummary | None,
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [
        (
            "対象期間",
            f"{format_date(period.start)}〜{format_date(period.end)}"
            f"（経過月数 {period.months}か月）",
        ),
        (
            "判定",
            "実績値が計画の目標に達していれば「達成」。年度末（3月31日）を基準日とし、その日が"
            "過ぎてから作る報告で達していなければ「未達」。年度途中の基準日（中間報告、見込みを"
            "含む）では「測定中」。実績値がなければ「測定中」（データなし）。",
        ),
        (
            "スケジュール",
            "基準日より後に始まる項目は「未着手」。それ以外は、計画ファイルに done 指定があれば"
            "それに従い、なければ期間が基準日までに終わっていれば「完了」、始まっていれば"
            "「実施中」。",
        ),
    ]
    if asr is not None:
        rows += [
            (f"音声認識: {_RULE_LABELS.get(name, '集計規則')}", text)
            for name, text in asr.rules.items()
        ]
    for s in surveys:
        rows += [
            (f"満足度（{s.survey}）: {_RULE_LABELS.get(name, '集計規則')}", text)
            for name, text in s.rules.items()
        ]
    if rpa is not None:
        rows.append(("RPA: 削減時間と削減率", rpa.rule))
    return rows


def _plan_target(plan: Plan, source: str) -> float | None:
    """The target of the plan's first indicator computed from ``source`` (None without one)."""
    for initiative in plan.initiatives:
        for indicator in initiative.indicators:
            if indicator.source == source and indicator.target is not None:
                return indicator.target
    return None


def build_report(
    session: Session,
    plan: Plan,
    period: Period,
    *,
    default_baseline_rate: float,
    generated: date,
    survey_choice: str | None = None,
) -> Report:
    """Compute every figure the plan asks for and assemble the report.

    Every target and judgement comes from the plan (the table and the
    sentences alike). A pilot without data gets no summary (None); its
    indicators show データなし and 測定中, and the report is still written,
    with whatever was left out of its figures.

    Args:
        session: the database.
        plan: the plan of the period's fiscal year.
        period: the period, its end the as-of date (:func:`report_period`).
        default_baseline_rate: the ASR rate for departments without their own.
        generated: the day the report is made (a later as-of date makes it a projection).
        survey_choice: the survey for survey indicators the plan names none for.
    """
    year_is_over = year_over(period, generated)
    asr = summarize_asr(session, period, default_rate=default_baseline_rate)
    asr_or_none = asr if asr.jobs else None
    rpa = summarize_rpa(session, period, target_rate=_plan_target(plan, "rpa.reduction_rate"))
    rpa_or_none = rpa if (rpa.runs_success + rpa.runs_failure + rpa.other_runs) else None
    surveys = SurveyChoice(period, survey_choice)
    notes: list[str] = []
    if period.end > generated:
        notes.append(
            f"見込み: 基準日（{format_date(period.end)}）は作成日（{format_date(generated)}）より"
            f"後です。実績は作成日までのデータによるもので、判定は確定していません。"
        )
    if rpa_or_none is None and rpa.unmatched_runs:
        notes.append(
            f"RPAの実行ログ {rpa.unmatched_runs:,}回分は、業務台帳のどの業務にも当たらないため"
            "集計していません（業務台帳を取り込むと集計されます）。"
        )
    satisfaction_target = _plan_target(plan, "survey.satisfaction_rate")
    initiatives: list[InitiativeResult] = []
    all_results: list[IndicatorResult] = []
    all_sentences: list[str] = []
    for initiative in plan.initiatives:
        summaries: list[Any] = []
        for indicator in initiative.indicators:
            area = (indicator.source or "").partition(".")[0]
            if area == "survey":
                summaries.append(surveys.for_indicator(session, indicator, satisfaction_target))
            else:
                summaries.append({"asr": asr_or_none, "rpa": rpa_or_none}.get(area))
        results = [
            evaluate(i, initiative, s, period, year_is_over=year_is_over)
            for i, s in zip(initiative.indicators, summaries, strict=True)
        ]
        pairs = list(zip(initiative.indicators, results, strict=True))
        progress = progress_sentences(period, pairs, summaries)
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
    used_surveys = list(surveys.summaries.values())
    return Report(
        plan=plan,
        period=period,
        generated=generated,
        asr=asr_or_none,
        surveys=used_surveys,
        rpa=rpa_or_none,
        initiatives=initiatives,
        indicators=all_results,
        sentences=all_sentences,
        method=_method(period, asr_or_none, used_surveys, rpa_or_none),
        quality=quality_items(session, asr, used_surveys, rpa),
        notes=notes + surveys.notes,
    )


def prepare_report(
    session: Session,
    period: Period,
    *,
    plan_file: Path | None,
    as_of_given: bool,
    projection: bool,
    survey_choice: str | None,
    default_baseline_rate: float,
    today: date,
) -> Report:
    """The report of a period, as ``pilots report`` and the report page make it.

    The plan is the file given, else the database's latest plan of the fiscal
    year; the as-of date is checked against today (:func:`report_period`).

    Raises:
        ConfigError: the plan file is of another fiscal year, or the as-of
            date is refused.
        NotFoundError: no plan of the fiscal year in the database.
        InputFileError: the plan file cannot be read.
    """
    if plan_file is not None:
        plan = load_plan(plan_file)
        if plan.fiscal_year != period.fiscal_year:
            raise ConfigError(
                "--fy",
                f"計画ファイル {plan.source} は {plan.fiscal_year} 年度の計画です"
                f"（--fy {period.fiscal_year}）",
            )
    else:
        plan = load_stored_plan(session, period.fiscal_year)
    chosen = report_period(period, as_of_given=as_of_given, today=today, projection=projection)
    return build_report(
        session,
        plan,
        chosen,
        default_baseline_rate=default_baseline_rate,
        generated=today,
        survey_choice=survey_choice,
    )

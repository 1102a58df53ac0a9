"""Assembling the effect report: the plan's indicators filled in from the computed figures.

The report is the progress sheet of the year with its third column —
進捗状況（R2年3月末時点） — filled in: each numeric indicator's actual value
from the figure the plan names, judged against the plan's target; the
milestones of the schedule with their state; the sentences an evaluator would
write, judged against the same targets; and what was excluded from each
figure, and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.measure import AsrSummary
from pilots.asr.measure import summarize as summarize_asr
from pilots.calendar import (
    PERIOD_LABELS,
    Period,
    fiscal_year_bounds,
    format_as_of,
    format_date,
    format_fiscal_year,
)
from pilots.errors import ConfigError, NotFoundError
from pilots.output import format_figure
from pilots.report.plan import (
    COMPUTED_SOURCES,
    LEVELS,
    Indicator,
    Initiative,
    Plan,
    load_plan,
    milestone_state,
)
from pilots.report.plan_store import load_stored_plan
from pilots.rpa.ingest import list_rejects
from pilots.rpa.measure import RpaSummary
from pilots.rpa.measure import summarize as summarize_rpa
from pilots.survey.measure import (
    SurveyInPeriod,
    SurveySummary,
    find_survey,
    list_surveys,
    summarize_survey,
    surveys_in_period,
)
from pilots.tables import WebUpload

ACHIEVED, NOT_ACHIEVED, MEASURING = "達成", "未達", "測定中"
NO_DATA = "データなし"
_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
_WORDS = {">=": "以上", "<=": "以下", ">": "超", "<": "未満", "==": ""}
# The rules of each summary, by the names the summaries give them, as the report titles them.
_RULE_LABELS = {
    "saved": "削減時間（ジョブごと）",
    "departments_using": "利用所属数",
    "hours_saved": "削減時間の合計",
    "avg_hours_saved_per_month": "ひと月あたりの削減時間",
    "baseline_rate": "従来作業時間率",
    "valid": "有効回答",
    "satisfaction_rate": "満足度",
    "ci95": "95%信頼区間",
    "as_of": "数える回答",
    "met": "目標の達成",
    "met_with_confidence": "信頼区間で見た目標の達成",
}


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
    """A record left out of a figure: what, how many, and why.

    ``details`` name each record (a file by its name, never a local path).
    """

    area: str
    what: str
    count: int
    reason: str
    details: list[str] = field(default_factory=list)


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
    if indicator.kind == "qualitative":
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
    return IndicatorResult(
        initiative=initiative.name,
        name=indicator.name,
        level=LEVELS[indicator.level],
        target=_target_text(indicator),
        actual=actual,
        actual_text=NO_DATA if actual is None else format_value(actual, indicator.unit),
        status=judge(indicator, actual, year_is_over=year_is_over),
        source=_source_text(indicator, survey),
        unit=indicator.unit,
        note=indicator.note,
    )


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
    return (
        f"{_when(period)}{asr.departments_using}所属で利用され、ひと月あたり平均{effect}"
        f"（導入前後の比較、修正時間の報告がある{asr.measured_jobs:,}件による）となった。"
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


def _progress(
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


@dataclass
class _Surveys:
    """The survey each survey indicator uses, and what the evaluator must be told."""

    period: Period
    choice: str | None
    summaries: dict[tuple[str, date | None], SurveySummary] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    found: list[SurveyInPeriod] | None = None

    def for_indicator(
        self, session: Session, indicator: Indicator, target: float | None
    ) -> SurveySummary | None:
        """The summary of the survey the indicator names, or the period's only survey.

        Rule: a survey named by the plan (or chosen on the report page) counts
        whatever year its answers were given in, up to the as-of date; without
        a name the report uses the one survey answered in the period — none,
        or several, give データなし and a note naming what was found.
        """
        name = indicator.survey or self.choice
        if name is not None:
            try:
                survey = find_survey(session, name).name
            except NotFoundError:
                self._note(
                    f"指標「{indicator.name}」の調査「{name}」は取り込まれていません"
                    f"（取り込み済み: {'、'.join(list_surveys(session)) or 'なし'}）。"
                )
                return None
            return self._summary(session, survey, target, start=None)
        if self.found is None:
            self.found = surveys_in_period(session, self.period.start, self.period.end)
        if len(self.found) == 1:
            return self._summary(session, self.found[0].name, target, start=self.period.start)
        if self.found:
            listed = "、".join(_survey_span(s) for s in self.found)
            self._note(
                f"満足度調査が{len(self.found)}件あります（{listed}）。指標「{indicator.name}」に"
                "使う調査を、計画の指標に survey: 調査名 と書くか、レポート画面で選んでください。"
            )
            return None
        others = list_surveys(session)
        if others:
            self._note(
                f"この期間（{format_date(self.period.start)}〜{format_date(self.period.end)}）に"
                f"回答された満足度調査はありません（取り込み済み: {'、'.join(others)}）。"
                "別の年度の調査を使うときは、計画の指標に survey: 調査名 と書いてください。"
            )
        return None

    def _summary(
        self, session: Session, name: str, target: float | None, *, start: date | None
    ) -> SurveySummary | None:
        if (name, start) not in self.summaries:
            summary = summarize_survey(
                session, name, target=target, as_of=self.period.end, start=start
            )
            if summary.responses == 0:
                self._note(f"調査「{name}」の回答はすべて基準日より後に完了しています（測定中）。")
                return None
            self.summaries[name, start] = summary
        return self.summaries[name, start]

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _survey_span(found: SurveyInPeriod) -> str:
    span = ""
    if found.first is not None and found.last is not None:
        span = f"、{format_date(found.first, 'short')}〜{format_date(found.last, 'short')}"
    return f"「{found.name}」回答{found.responses}件{span}"


def _shown_names(session: Session, files: Iterable[str]) -> dict[str, str]:
    """Each stored file path → the name a reader knows it by.

    The file's own name, never the evaluator's local folders; a file uploaded
    through the web UI (stored as ``<uuid>.csv``) by the name it was uploaded as.
    """
    names = {f: PurePath(f.replace("\\", "/")).name for f in set(files)}
    uploaded: dict[str, str] = {
        stored: original
        for stored, original in session.execute(
            select(WebUpload.stored_name, WebUpload.original_name).where(
                WebUpload.stored_name.in_(set(names.values()))
            )
        )
    }
    return {f: uploaded.get(name, name) for f, name in names.items()}


def _quality(
    session: Session,
    asr: AsrSummary,
    surveys: Sequence[SurveySummary],
    rpa: RpaSummary,
) -> list[QualityItem]:
    """What was left out of each figure, whenever anything was (and every count of a pilot
    that has data, zeros included, so that a reader sees it was checked)."""
    items: list[QualityItem] = []

    def add(item: QualityItem, has_data: bool) -> None:
        if item.count or has_data:
            items.append(item)

    asr_data = asr.jobs > 0
    add(
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
        ),
        asr_data,
    )
    add(
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
        ),
        False,
    )
    add(
        QualityItem(
            "音声認識",
            "所属不明のジョブ",
            asr.jobs_without_department,
            "利用所属数に数えない（削減時間は既定の従来作業時間率で計算）",
        ),
        False,
    )
    asr_files = _shown_names(session, (r.file for r in asr.rejected_rows))
    add(
        QualityItem(
            "音声認識",
            "取り込めなかった利用報告の行",
            len(asr.rejected_rows),
            "読めない行（日付・時間の誤り等）は集計から除外",
            [f"{asr_files[r.file]} {r.line}行目: {r.reason}" for r in asr.rejected_rows],
        ),
        asr_data,
    )
    rpa_data = rpa.runs_success + rpa.runs_failure + rpa.other_runs > 0
    for exclusion in rpa.excluded:
        details: list[str] = []
        if exclusion.what == "unmatched_runs":
            details = [f"{s.scenario}（{s.runs:,}回）" for s in rpa.unmatched_scenarios]
        elif exclusion.what == "other_runs":
            details = [f"状態「{k}」: {v:,}回" for k, v in rpa.other_by_status.items()]
        elif exclusion.what == "rejected_rows" and exclusion.count:
            rejects = list_rejects(session)
            shown = _shown_names(session, (r.file for r in rejects))
            details = [f"{shown[r.file]} {r.line}行目: {r.reason}" for r in rejects]
        add(
            QualityItem("RPA", exclusion.label, exclusion.count, exclusion.reason, details),
            rpa_data,
        )
    for s in surveys:
        area = f"満足度調査「{s.survey}」" if len(surveys) > 1 else "満足度調査"
        items.append(
            QualityItem(
                area,
                "無回答",
                s.non_responses,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw or '（空欄）'}"
                    for e in s.excluded
                    if e.status != "unrecognised"
                ],
            )
        )
        items.append(
            QualityItem(
                area,
                "5段階にない回答",
                s.unrecognised,
                "有効回答（分母）に含めない",
                [
                    f"{e.line}行目 {e.department}: {e.answer_raw}"
                    for e in s.excluded
                    if e.status == "unrecognised"
                ],
            )
        )
        outside = s.responses_before_start + s.responses_after_as_of
        add(
            QualityItem(
                area,
                "期間外に完了した回答",
                outside,
                "対象期間の前または基準日より後に完了した回答は数えない",
            ),
            False,
        )
    return items


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
    surveys = _Surveys(period, survey_choice)
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
        progress = _progress(period, pairs, summaries)
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
        quality=_quality(session, asr, used_surveys, rpa),
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

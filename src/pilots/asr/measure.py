"""Time saved by speech recognition (SPEC §3): the summary of a period.

The rules, exactly as SPEC §3 states them::

    saved(job)                = audio_hours × baseline_rate(department) − correction_hours
    departments_using         = distinct departments with ≥ 1 job in the period
    hours_saved               = Σ saved(job) over jobs in the period with a reported
                                correction time
    avg_hours_saved_per_month = hours_saved / months elapsed in the period (SPEC §2)

Each correction time carries its source (SPEC §3): ``editor`` (measured by
the correction editor) or ``self-reported``. The headline figures use every
job with a correction time, whatever its source, as the rule says; where both
sources occur in the period the figures are also shown **both ways**
(:class:`CorrectionFigures`): the jobs of each source on their own — their
count, audio, correction and saved hours — and, to compare the two although
they cover different meetings, their correction hours and hours saved per
hour of audio. The draft accuracy of the period (pooled CER, 認識精度) is
:mod:`pilots.asr.accuracy`'s rule, reported here with its denominators.

A job belongs to a period by its meeting date. A department without its own
baseline rate (従来作業時間) uses the organisation-wide default (the
``default_baseline_rate`` setting), and the summary names those departments.
Jobs without a reported correction time (修正時間) count as usage and are
listed; they are never given a guessed saving. Jobs without a department
(``pilots asr transcribe`` without ``--dept``) count as jobs, audio and — once
corrected — savings at the default rate, under 所属不明; they are not a
department, so ``departments_using`` does not count them. A job whose
recording held no speech (``no_speech``) is no meeting: it is left out of
every figure and listed as excluded with that reason.

The parts the summary reads have their own modules: the baseline rates
(:mod:`pilots.asr.baselines`), the jobs with their figures and correction
times (:mod:`pilots.asr.jobs`) and the departments' usage reports
(:mod:`pilots.asr.usage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.accuracy import REASONS, PooledAccuracy, missing_reason, pool
from pilots.asr.corrections import CORRECTION_SOURCES, SOURCE_LABELS
from pilots.asr.jobs import JobFigures, load_jobs
from pilots.calendar import Period, format_date, months
from pilots.figures import Exclusion, PeriodFigures
from pilots.org import UNKNOWN_DEPARTMENT
from pilots.tables import AsrImportReject
from pilots.text import normalize_name


@dataclass(frozen=True)
class DepartmentSummary:
    """One department's figures in the period (or 所属不明 for jobs without one).

    Attributes:
        department: the department's name, or 所属不明.
        department_id: None for 所属不明.
        jobs / measured_jobs / unmeasured_jobs: all jobs, those with and
            those without a reported correction time.
        audio_hours: audio of all its jobs.
        baseline_rate / rate_source: the rate used, ``own`` or ``default``.
        baseline_hours / correction_hours / hours_saved: over measured jobs only.
    """

    department: str
    department_id: int | None
    jobs: int
    measured_jobs: int
    unmeasured_jobs: int
    audio_hours: float
    baseline_rate: float
    rate_source: str
    baseline_hours: float
    correction_hours: float
    hours_saved: float


@dataclass(frozen=True)
class MonthSummary:
    """One calendar month of the period (by meeting date).

    Attributes:
        month: ``YYYY-MM``.
        label: the month in the Japanese era (令和元年5月).
        departments_using: distinct departments with a job in the month.
        departments_cumulative: distinct departments with a job from the start
            of the period up to the end of the month (the usage curve).
    """

    month: str
    label: str
    jobs: int
    measured_jobs: int
    departments_using: int
    departments_cumulative: int
    audio_hours: float
    hours_saved: float


@dataclass(frozen=True)
class ListedJob:
    """A job as the summary lists it: number, source, department, date and length."""

    job_id: int
    source: str
    department: str
    meeting_date: date
    audio_minutes: float


@dataclass(frozen=True)
class UnmeasuredJob(ListedJob):
    """A job without a reported correction time: usage, excluded from hours saved."""


@dataclass(frozen=True)
class ExcludedJob(ListedJob):
    """A job left out of every figure, with the reason (e.g. a recording without speech)."""

    reason: str = ""


NO_SPEECH_REASON = "音声が検出されなかった（話し声のない録音）ため、利用に数えない"


@dataclass(frozen=True)
class RejectedRow:
    """A usage-report row that was not loaded (``pilots asr import``)."""

    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class SourceFigures:
    """The jobs whose correction time has one source, on their own (SPEC §3, both ways).

    Attributes:
        source: ``editor`` or ``self-reported``.
        label: 計測 or 自己申告.
        jobs: jobs with a correction time from this source.
        audio_hours / baseline_hours / correction_hours / hours_saved: over these jobs.
        correction_hours_per_audio_hour: correction_hours / audio_hours (None without audio).
        hours_saved_per_audio_hour: hours_saved / audio_hours (None without audio).
    """

    source: str
    label: str
    jobs: int
    audio_hours: float
    baseline_hours: float
    correction_hours: float
    hours_saved: float
    correction_hours_per_audio_hour: float | None
    hours_saved_per_audio_hour: float | None


@dataclass(frozen=True)
class CorrectionFigures:
    """Where the period's correction times come from (SPEC §3), and the figures both ways.

    Attributes:
        measured_jobs: jobs whose correction time the editor measured (計測).
        self_reported_jobs: jobs whose correction time was typed or reported (自己申告).
        both: both sources occur: the figures are to be shown both ways.
        by_source: the jobs of each source on their own (editor first).
        rule: what is shown both ways, in Japanese.
    """

    measured_jobs: int
    self_reported_jobs: int
    both: bool
    by_source: list[SourceFigures]
    rule: str


@dataclass(frozen=True)
class AsrSummary(PeriodFigures):
    """The speech-recognition figures of one period (SPEC §3), with their rules.

    Attributes:
        departments_using: distinct departments with ≥ 1 job in the period.
        jobs: all jobs in the period (usage).
        measured_jobs: jobs with a reported correction time (the denominator of hours_saved).
        unmeasured_jobs: jobs without one (listed in ``unmeasured``).
        jobs_without_department: jobs counted under 所属不明.
        audio_hours: audio of all jobs.
        baseline_hours / correction_hours: over measured jobs.
        hours_saved: Σ saved(job) over measured jobs.
        avg_hours_saved_per_month: hours_saved / months.
        default_baseline_rate: the organisation-wide default rate used.
        departments_on_default_rate: departments in the period without their own rate.
        by_department / by_month: the same figures broken down.
        unmeasured: every job excluded from hours_saved.
        excluded_jobs / excluded: jobs left out of every figure — usage included —
            with the reason: a recording in which no speech was found.
        rejected_rows: every usage-report row not loaded, from all imports.
        correction: the sources of the correction times, and the figures both ways.
        accuracy: the draft accuracy of the period (pooled CER, 認識精度) and what it rests on.
        jobs_without_accuracy: the jobs left out of the accuracy, by reason
            (keys of :data:`pilots.asr.accuracy.REASONS`).
        rules: each figure's rule and denominator, in Japanese.
    """

    departments_using: int
    jobs: int
    measured_jobs: int
    unmeasured_jobs: int
    jobs_without_department: int
    audio_hours: float
    baseline_hours: float
    correction_hours: float
    hours_saved: float
    avg_hours_saved_per_month: float
    default_baseline_rate: float
    departments_on_default_rate: list[str]
    by_department: list[DepartmentSummary]
    by_month: list[MonthSummary]
    unmeasured: list[UnmeasuredJob]
    excluded_jobs: int
    excluded: list[ExcludedJob]
    rejected_rows: list[RejectedRow]
    correction: CorrectionFigures
    accuracy: PooledAccuracy
    jobs_without_accuracy: dict[str, int]
    rules: dict[str, str]

    @property
    def exclusions(self) -> list[Exclusion]:
        """What the figures leave out, by fixed key, with its label and treatment."""
        return [
            Exclusion(
                "unmeasured_jobs",
                "修正時間が未報告のジョブ",
                self.unmeasured_jobs,
                "利用件数には数え、削減時間には含めない（推計しない）",
            ),
            Exclusion(
                "no_speech_jobs",
                "音声が検出されなかった録音",
                self.excluded_jobs,
                "話し声のない録音は会議の利用ではないため、利用件数・利用所属数・削減時間の"
                "いずれにも含めない",
            ),
            Exclusion(
                "jobs_without_department",
                "所属不明のジョブ",
                self.jobs_without_department,
                "利用所属数に数えない（削減時間は既定の従来作業時間率で計算）",
            ),
            Exclusion(
                "jobs_without_accuracy",
                "認識精度を測っていないジョブ",
                sum(self.jobs_without_accuracy.values()),
                "認識精度（文字誤り率）の分母に含めない: "
                + "、".join(
                    f"{REASONS[key]} {count}件"
                    for key, count in self.jobs_without_accuracy.items()
                    if count
                ),
            ),
            Exclusion(
                "rejected_rows",
                "取り込めなかった利用報告の行",
                len(self.rejected_rows),
                "読めない行（日付・時間の誤り等）は集計から除外",
            ),
        ]


def _r(value: float) -> float:
    # Sums are computed unrounded; six decimals only hide binary noise in the output.
    return round(value, 6)


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _listed(job: JobFigures) -> dict[str, Any]:
    """The fields of :class:`ListedJob` for ``job``."""
    return {
        "job_id": job.job_id,
        "source": job.source,
        "department": job.department or UNKNOWN_DEPARTMENT,
        "meeting_date": job.meeting_date,
        "audio_minutes": _r(job.audio_minutes),
    }


def _per_audio_hour(hours: float, audio_hours: float) -> float | None:
    return _r(hours / audio_hours) if audio_hours else None


def _correction_figures(measured: list[JobFigures]) -> CorrectionFigures:
    """The measured jobs split by the source of their correction time (SPEC §3)."""
    by_source = []
    for source in CORRECTION_SOURCES:
        members = [j for j in measured if j.correction_source == source]
        audio = sum(j.audio_hours for j in members)
        correction = sum((j.correction_minutes or 0) / 60 for j in members)
        saved = sum(j.hours_saved or 0 for j in members)
        by_source.append(
            SourceFigures(
                source=source,
                label=SOURCE_LABELS[source],
                jobs=len(members),
                audio_hours=_r(audio),
                baseline_hours=_r(sum(j.baseline_hours for j in members)),
                correction_hours=_r(correction),
                hours_saved=_r(saved),
                correction_hours_per_audio_hour=_per_audio_hour(correction, audio),
                hours_saved_per_audio_hour=_per_audio_hour(saved, audio),
            )
        )
    editor, reported = by_source
    rule = (
        f"修正時間の出どころ: 計測（修正エディタが計った作業時間）{editor.jobs}件、"
        f"自己申告（職員の入力・利用報告）{reported.jobs}件。削減時間は両方を合わせた全件で計算し、"
        "両方あるときは出どころ別にも示す（それぞれのジョブだけの削減時間と、録音1時間あたりの"
        "修正時間・削減時間。出どころ別の件数・会議が違うため、比べるのは録音1時間あたりの値）"
    )
    return CorrectionFigures(
        measured_jobs=editor.jobs,
        self_reported_jobs=reported.jobs,
        both=editor.jobs > 0 and reported.jobs > 0,
        by_source=by_source,
        rule=rule,
    )


def summarize(session: Session, period: Period, *, default_rate: float) -> AsrSummary:
    """Compute the period's speech-recognition figures by the rules of SPEC §3.

    Args:
        session: the database.
        period: the fiscal year's interim or final period (its end is the as-of date).
        default_rate: the ``default_baseline_rate`` setting, for departments
            without their own rate and for jobs without a department.
    """
    found = load_jobs(session, default_rate=default_rate, start=period.start, end=period.end)
    # A recording without speech is no meeting: not usage, not a department using it.
    rows = [r for r in found if not r.figures.no_speech]
    excluded = [
        ExcludedJob(**_listed(r.figures), reason=NO_SPEECH_REASON)
        for r in found
        if r.figures.no_speech
    ]
    jobs = [r.figures for r in rows]
    codes = {r.department_id: r.department_code for r in rows}

    groups: dict[int | None, list[JobFigures]] = {}
    dept_ids: dict[int, int | None] = {}
    for row in rows:
        groups.setdefault(row.department_id, []).append(row.figures)
        dept_ids[row.figures.job_id] = row.department_id
    by_department = []
    for dept_id, members in groups.items():
        measured = [j for j in members if j.measured]
        by_department.append(
            DepartmentSummary(
                department=members[0].department or UNKNOWN_DEPARTMENT,
                department_id=dept_id,
                jobs=len(members),
                measured_jobs=len(measured),
                unmeasured_jobs=len(members) - len(measured),
                audio_hours=_r(sum(j.audio_hours for j in members)),
                baseline_rate=members[0].baseline_rate,
                rate_source=members[0].rate_source,
                baseline_hours=_r(sum(j.baseline_hours for j in measured)),
                correction_hours=_r(sum((j.correction_minutes or 0) / 60 for j in measured)),
                hours_saved=_r(sum(j.hours_saved or 0 for j in measured)),
            )
        )
    by_department.sort(
        key=lambda d: (
            d.department_id is None,
            codes.get(d.department_id) is None,
            codes.get(d.department_id) or "",
            normalize_name(d.department),
        )
    )

    by_month = []
    seen_departments: set[int] = set()
    jobs_by_month: dict[str, list[JobFigures]] = {}
    for job in jobs:
        jobs_by_month.setdefault(_month_key(job.meeting_date), []).append(job)
    for first in months(period.start, period.end):
        key = _month_key(first)
        members = jobs_by_month.get(key, [])
        measured = [j for j in members if j.measured]
        month_departments = {d for j in members if (d := dept_ids[j.job_id]) is not None}
        seen_departments |= month_departments
        by_month.append(
            MonthSummary(
                month=key,
                label=format_date(first).removesuffix("1日"),
                jobs=len(members),
                measured_jobs=len(measured),
                departments_using=len(month_departments),
                departments_cumulative=len(seen_departments),
                audio_hours=_r(sum(j.audio_hours for j in members)),
                hours_saved=_r(sum(j.hours_saved or 0 for j in measured)),
            )
        )

    measured_jobs = [j for j in jobs if j.measured]
    hours_saved = sum(j.hours_saved or 0 for j in measured_jobs)
    correction = _correction_figures(measured_jobs)
    accuracy = pool(jobs)
    reasons = [missing_reason(j) for j in jobs]
    elapsed = period.months
    using = sum(1 for d in by_department if d.department_id is not None)
    without = sum(d.jobs for d in by_department if d.department_id is None)
    on_default = [
        d.department
        for d in by_department
        if d.department_id is not None and d.rate_source == "default"
    ]
    unmeasured = [UnmeasuredJob(**_listed(j)) for j in jobs if not j.measured]
    rejected = [
        RejectedRow(file=f, line=line, reason=reason)
        for f, line, reason in session.execute(
            select(
                AsrImportReject.import_file, AsrImportReject.line, AsrImportReject.reason
            ).order_by(AsrImportReject.import_file, AsrImportReject.line)
        )
    ]
    rules = {
        "saved": "削減時間(ジョブ) = 録音時間(時間) × 従来作業時間率(所属) − 修正時間(時間)",
        "departments_using": (
            f"期間内（会議日 {period.start.isoformat()}〜{period.end.isoformat()}）にジョブが"
            f"1件以上ある所属の数。所属不明のジョブ{without}件は所属として数えない。"
            f"音声が検出されなかった録音{len(excluded)}件はジョブとしても数えない"
        ),
        "hours_saved": (
            f"修正時間の報告があるジョブ{len(measured_jobs)}件の削減時間の合計。"
            f"報告のないジョブ{len(unmeasured)}件は利用として数え、削減時間には含めない"
        ),
        "avg_hours_saved_per_month": f"削減時間 ÷ 経過月数 {elapsed}か月",
        "correction_source": correction.rule,
        "accuracy": (
            f"認識精度 = 1 − 文字誤り率（編集の合計 ÷ 修正後の文字数の合計）。修正が完了し、"
            f"議事録案と修正後の文章を比べたジョブ{accuracy.jobs}件、"
            f"{accuracy.characters:,}文字による"
        ),
        "baseline_rate": (
            f"自所属の従来作業時間率がない所属（{len(on_default)}所属）と所属不明のジョブは"
            f"既定値 {default_rate:g} 時間/録音1時間（設定 PILOTS_DEFAULT_BASELINE_RATE）"
        ),
    }
    return AsrSummary(
        **PeriodFigures.fields_of(period),
        departments_using=using,
        jobs=len(jobs),
        measured_jobs=len(measured_jobs),
        unmeasured_jobs=len(unmeasured),
        jobs_without_department=without,
        audio_hours=_r(sum(j.audio_hours for j in jobs)),
        baseline_hours=_r(sum(j.baseline_hours for j in measured_jobs)),
        correction_hours=_r(sum((j.correction_minutes or 0) / 60 for j in measured_jobs)),
        hours_saved=_r(hours_saved),
        avg_hours_saved_per_month=_r(hours_saved / elapsed),
        default_baseline_rate=default_rate,
        departments_on_default_rate=on_default,
        by_department=by_department,
        by_month=by_month,
        unmeasured=unmeasured,
        excluded_jobs=len(excluded),
        excluded=excluded,
        rejected_rows=rejected,
        correction=correction,
        accuracy=accuracy,
        jobs_without_accuracy={key: reasons.count(key) for key in REASONS},
        rules=rules,
    )

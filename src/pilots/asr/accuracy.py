"""The draft accuracy of a period (SPEC §3): the pooled character error rate and 認識精度.

The rules, as SPEC §3 states them::

    cer(job)   = edit_distance(draft, corrected) / len(corrected)     (characters)
    pooled_cer = Σ edits / Σ len(corrected)   over finished jobs in the period
    認識精度    = 1 − pooled_cer   (shown with the number of jobs and characters)

Each job's edits and characters are measured when its correction is finished
(:func:`pilots.asr.corrections.finish_correction`, after
:func:`pilots.asr.metrics.normalise_for_cer`). A job counts when its
correction is finished (it has a correction time; a reopened job has none
until it is finished again) and its draft was compared with the corrected
text. A job whose recording held no speech is left out, as from every figure
of SPEC §3. The others are listed with their reason (:data:`REASONS`): jobs
imported from a usage report have no draft; jobs not finished have no
corrected text yet; finished jobs reported with a time only were not compared.
A job with an empty corrected text adds its edits and no characters: the
pooled rate counts them, its own rate is undefined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from pilots.asr.jobs import JobFigures, StoredJob, load_jobs
from pilots.calendar import Period
from pilots.figures import PeriodFigures
from pilots.org import UNKNOWN_DEPARTMENT

GROUPINGS = ("department", "model")
"""What ``pilots asr accuracy --by`` breaks the pooled rate down by."""

REASONS = {
    "import": "利用報告から取り込んだジョブ（議事録案がない）",
    "not_finished": "修正が完了していない（修正時間が未報告、または修正を再開中）",
    "not_compared": "修正後の文章と比べていない（修正時間だけの報告、または議事録案の記録がない）",
}
"""Why a job has no draft accuracy, by fixed key."""

UNKNOWN_MODEL = "モデル不明"


@dataclass(frozen=True)
class PooledAccuracy:
    """The draft accuracy of a set of jobs, pooled (SPEC §3 ``pooled_cer``).

    Attributes:
        jobs: finished jobs whose draft was compared (the jobs the rate rests on).
        characters: Σ characters of their corrected texts (the denominator).
        edits: Σ edits (substitutions + insertions + deletions).
        substitutions / insertions / deletions: the edits by kind
            (see :class:`pilots.asr.metrics.Accuracy`).
        cer: edits / characters; None without characters.
        recognition_accuracy: 認識精度 = 1 − cer; None without characters.
    """

    jobs: int
    characters: int
    edits: int
    substitutions: int
    insertions: int
    deletions: int
    cer: float | None
    recognition_accuracy: float | None


@dataclass(frozen=True)
class AccuracyGroup(PooledAccuracy):
    """The pooled accuracy of one department or one speech model (``name``)."""

    name: str = ""


@dataclass(frozen=True)
class JobWithoutAccuracy:
    """A job of the period without a draft accuracy, and why (``reason``: a key of REASONS)."""

    job_id: int
    source: str
    department: str
    meeting_date: date
    reason: str
    label: str


@dataclass(frozen=True)
class AccuracySummary(PeriodFigures):
    """The period's draft accuracy (``pilots asr accuracy``), with its rule.

    Attributes:
        overall: the pooled rate of every job that counts.
        by: ``department``, ``model`` or None: what ``groups`` breaks it down by.
        groups: the pooled rate of each department (by code) or model (by name).
        without: every job of the period without an accuracy, with its reason.
        without_by_reason: how many of them for each reason (every key of REASONS).
        rule: the rule and its denominator, in Japanese.
    """

    overall: PooledAccuracy
    by: str | None
    groups: list[AccuracyGroup]
    without: list[JobWithoutAccuracy]
    without_by_reason: dict[str, int]
    rule: str


def missing_reason(job: JobFigures) -> str | None:
    """Why ``job`` has no draft accuracy (a key of :data:`REASONS`), or None when it counts."""
    if job.source == "import":
        return "import"
    if not job.measured:
        return "not_finished"
    if job.accuracy is None:
        return "not_compared"
    return None


def pool(jobs: Iterable[JobFigures]) -> PooledAccuracy:
    """The pooled accuracy of the jobs that count (SPEC §3): Σ edits / Σ characters."""
    counted = [j.accuracy for j in jobs if j.accuracy is not None and missing_reason(j) is None]
    characters = sum(a.characters for a in counted)
    substitutions = sum(a.substitutions for a in counted)
    insertions = sum(a.insertions for a in counted)
    deletions = sum(a.deletions for a in counted)
    edits = substitutions + insertions + deletions
    cer = edits / characters if characters else None
    return PooledAccuracy(
        jobs=len(counted),
        characters=characters,
        edits=edits,
        substitutions=substitutions,
        insertions=insertions,
        deletions=deletions,
        cer=cer,
        recognition_accuracy=None if cer is None else 1 - cer,
    )


def _department(row: StoredJob) -> tuple[str, tuple[object, ...]]:
    name = row.figures.department or UNKNOWN_DEPARTMENT
    code = row.department_code
    # Departments in the order of their codes, as the §3 summary lists them; 所属不明 last.
    return name, (row.department_id is None, code is None, code or "", name)


def _model(row: StoredJob) -> tuple[str, tuple[object, ...]]:
    name = row.figures.model or UNKNOWN_MODEL
    return name, (row.figures.model is None, name)


_GROUPING: dict[str, Callable[[StoredJob], tuple[str, tuple[object, ...]]]] = {
    "department": _department,
    "model": _model,
}


def _groups(rows: list[StoredJob], by: str) -> list[AccuracyGroup]:
    grouping = _GROUPING[by]
    members: dict[str, list[JobFigures]] = {}
    for row in sorted(rows, key=lambda r: grouping(r)[1]):
        members.setdefault(grouping(row)[0], []).append(row.figures)
    groups = []
    for name, jobs in members.items():
        pooled = pool(jobs)
        if pooled.jobs:
            groups.append(AccuracyGroup(**vars(pooled), name=name))
    return groups


def summarize_accuracy(
    session: Session, period: Period, *, by: str | None = None
) -> AccuracySummary:
    """The period's pooled draft accuracy (SPEC §3), optionally by department or model.

    Args:
        session: the database.
        period: the fiscal year's period; a job belongs to it by its meeting date.
        by: ``department``, ``model`` (:data:`GROUPINGS`) or None.
    """
    # Accuracy reads no baseline rate: any default serves load_jobs here.
    found = load_jobs(session, default_rate=0.0, start=period.start, end=period.end)
    rows = [r for r in found if not r.figures.no_speech]
    without = []
    for row in rows:
        job = row.figures
        reason = missing_reason(job)
        if reason is not None:
            without.append(
                JobWithoutAccuracy(
                    job_id=job.job_id,
                    source=job.source,
                    department=job.department or UNKNOWN_DEPARTMENT,
                    meeting_date=job.meeting_date,
                    reason=reason,
                    label=REASONS[reason],
                )
            )
    overall = pool(r.figures for r in rows)
    rule = (
        f"文字誤り率 = 編集の合計 ÷ 修正後の文字数の合計（修正が完了し、議事録案と修正後の文章を"
        f"比べたジョブ{overall.jobs}件、{overall.characters:,}文字）。認識精度 = 1 − 文字誤り率。"
        "文字は Unicode NFKC で正規化し、空白と句読点・括弧などの約物を除いて数える"
        f"（% ‰ # & @ は数える）。対象外のジョブ{len(without)}件は理由とともに示す"
    )
    return AccuracySummary(
        **PeriodFigures.fields_of(period),
        overall=overall,
        by=by,
        groups=_groups(rows, by) if by is not None else [],
        without=without,
        without_by_reason={key: sum(1 for w in without if w.reason == key) for key in REASONS},
        rule=rule,
    )

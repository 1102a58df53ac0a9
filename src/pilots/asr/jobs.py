"""The job log (SPEC §3): recording transcriptions, and listing jobs with their figures.

A **job** is one meeting recording turned into a draft, by this toolkit
(:func:`record_transcription`, which keeps the draft's segments with the job)
or reported by a department (:mod:`pilots.asr.usage`). Each job's figures
follow SPEC §3::

    saved(job) = audio_hours × baseline_rate(department) − correction_hours

with the department's own baseline rate (:mod:`pilots.asr.baselines`) or the
organisation-wide default. Finishing a correction — its time, the source of
that time and the draft accuracy — is :mod:`pilots.asr.corrections`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.baselines import baseline_rates
from pilots.asr.metrics import Accuracy
from pilots.asr.minutes import segments_as_data
from pilots.asr.result import Transcript
from pilots.calendar import fiscal_year_bounds
from pilots.errors import NotFoundError
from pilots.org import DepartmentResolver
from pilots.tables import AsrJob, Department, WebJob
from pilots.text import normalize_name

# --- recording transcriptions ---------------------------------------------------


@dataclass(frozen=True)
class JobRecord:
    """What logging a transcription did.

    Attributes:
        job_id: the job's number (for ``pilots asr correction JOB_ID MINUTES``).
        created: False when the same recording (same SHA-256) was logged before
            for the same department and its job was updated instead.
        department_created: the department's name if this created it.
        no_speech: no speech was found in the recording: the job is kept, flagged,
            and does not count as usage.
    """

    job_id: int
    created: bool
    department_created: str | None
    no_speech: bool = False


def _same_recording(session: Session, sha256: str, department: Department | None) -> AsrJob | None:
    """The job this recording was logged as before, for this department, if any.

    A job's identity is the recording and its department: the same file sent by two
    departments is two meetings' usage, and one must not overwrite the other. A job
    logged without a department is taken over by the first department named for it;
    a recording transcribed again without a department updates its one job.
    """
    jobs = list(
        session.scalars(select(AsrJob).where(AsrJob.audio_sha256 == sha256).order_by(AsrJob.id))
    )
    without = next((j for j in jobs if j.department_id is None), None)
    if department is None:
        return without or (jobs[0] if len(jobs) == 1 else None)
    own = next((j for j in jobs if j.department_id == department.id), None)
    return own or without


def record_transcription(
    session: Session, transcript: Transcript, outputs: list[Path], *, today: date
) -> JobRecord:
    """Log a finished transcription as a job (or update the job of the same recording).

    The meeting date is the one given for the minutes, else ``today``. The
    draft's segments are kept with the job (``draft_json``), for the draft
    accuracy once the correction is finished and for the correction editor. A
    correction time already reported for the recording is kept. A recording
    without speech is logged with ``no_speech`` set.
    """
    resolver = DepartmentResolver(session, created_by="asr transcribe")
    meeting = transcript.meeting
    department = resolver(meeting.department) if meeting.department.strip() else None
    job = _same_recording(session, transcript.audio_sha256, department)
    created = job is None
    if job is None:
        job = AsrJob(source="pilots", audio_sha256=transcript.audio_sha256)
        session.add(job)
    job.department = department if department is not None else job.department
    job.title = meeting.title or job.title or transcript.audio.stem
    job.meeting_date = meeting.date or job.meeting_date or today
    job.audio_seconds = transcript.duration
    job.processing_seconds = transcript.processing_seconds
    job.model = transcript.model
    job.flag_count = transcript.flag_count
    job.no_speech = transcript.no_speech
    job.outputs = json.dumps([str(p) for p in outputs], ensure_ascii=False)
    job.draft_json = json.dumps(segments_as_data(transcript), ensure_ascii=False)
    session.flush()
    return JobRecord(
        job.id,
        created,
        resolver.created[0] if resolver.created else None,
        no_speech=job.no_speech,
    )


# --- one job's figures --------------------------------------------------------


@dataclass(frozen=True)
class JobFigures:
    """One job and what it saved (SPEC §3), as ``pilots asr jobs`` lists it.

    Attributes:
        job_id: the job's number (``pilots asr correction JOB_ID MINUTES``).
        source: ``pilots`` (transcribed here) or ``import`` (reported by a department).
        department: the department's name, or None (shown as 所属不明).
        meeting_date: the meeting's date; it places the job in a period.
        title: the meeting's name, if known.
        audio_minutes / audio_hours: the recording's length.
        correction_minutes: the correction time (修正時間); None until the
            correction is finished (or while it is reopened).
        correction_source: where that time comes from: ``editor`` (measured by
            the correction editor) or ``self-reported``; None without one.
        baseline_rate: hours of work per hour of audio before adoption.
        rate_source: ``own`` (the department's rate) or ``default`` (the setting).
        baseline_hours: audio_hours × baseline_rate — the work before adoption.
        hours_saved: baseline_hours − correction hours; None until a correction
            time is reported (never guessed).
        no_speech: no speech was found in the recording; the job is not usage.
        web_jobs: the numbers the web UI's queue gave the recording's uploads
            (議事録作成 page), which this job logs.
        model: the speech model that drafted it (None for an imported job).
        accuracy: the draft accuracy (SPEC §3), once the finished correction
            was compared with the draft; None before, or without a corrected text.
    """

    job_id: int
    source: str
    department: str | None
    meeting_date: date
    title: str
    audio_minutes: float
    audio_hours: float
    correction_minutes: float | None
    baseline_rate: float
    rate_source: str
    baseline_hours: float
    hours_saved: float | None
    no_speech: bool = False
    web_jobs: tuple[int, ...] = ()
    correction_source: str | None = None
    model: str | None = None
    accuracy: Accuracy | None = None

    @property
    def measured(self) -> bool:
        """True when the job has a reported correction time and so counts as savings."""
        return self.correction_minutes is not None


class StoredJob(NamedTuple):
    """A job as the measurement reads it: its figures, and its department's id and code.

    A tuple, not a dataclass: a year's summary makes tens of thousands of them.

    Attributes:
        figures: the job's figures (SPEC §3).
        department_id: None for a job without a department (所属不明).
        department_code: the department's code, which orders departments (None without one).
    """

    figures: JobFigures
    department_id: int | None
    department_code: str | None


def load_jobs(
    session: Session,
    *,
    default_rate: float,
    start: date | None = None,
    end: date | None = None,
    department_id: int | None = None,
    job_id: int | None = None,
) -> list[StoredJob]:
    """The stored jobs with their figures (SPEC §3 saved(job)), by meeting date (then number).

    Args:
        session: the database.
        default_rate: the ``default_baseline_rate`` setting, for departments
            without their own rate and for jobs without a department.
        start / end: only the jobs whose meeting date lies in these bounds.
        department_id / job_id: only this department's jobs, only this job.
    """
    query = (
        select(
            AsrJob.id,
            AsrJob.source,
            Department.name,
            AsrJob.department_id,
            AsrJob.meeting_date,
            AsrJob.title,
            AsrJob.audio_seconds,
            AsrJob.correction_minutes,
            Department.code,
            AsrJob.no_speech,
            AsrJob.correction_source,
            AsrJob.model,
            AsrJob.corrected_characters,
            AsrJob.edit_substitutions,
            AsrJob.edit_insertions,
            AsrJob.edit_deletions,
        )
        .outerjoin(Department, AsrJob.department_id == Department.id)
        .order_by(AsrJob.meeting_date, AsrJob.id)
    )
    if start is not None:
        query = query.where(AsrJob.meeting_date >= start)
    if end is not None:
        query = query.where(AsrJob.meeting_date <= end)
    if department_id is not None:
        query = query.where(AsrJob.department_id == department_id)
    if job_id is not None:
        query = query.where(AsrJob.id == job_id)
    rates = baseline_rates(session)
    jobs = []
    for row in session.execute(query):
        job, source, name, dept_id, meeting_date, title, seconds, correction, code = row[:9]
        silent, correction_source, model, characters, substitutions, insertions, deletions = row[9:]
        own = rates.get(dept_id) if dept_id is not None else None
        rate = own if own is not None else default_rate
        audio_hours = seconds / 3600
        baseline_hours = audio_hours * rate
        saved = None if correction is None else baseline_hours - correction / 60
        figures = JobFigures(
            job_id=job,
            source=source,
            department=name,
            meeting_date=meeting_date,
            title=title or "",
            audio_minutes=seconds / 60,
            audio_hours=audio_hours,
            correction_minutes=correction,
            baseline_rate=rate,
            rate_source="own" if own is not None else "default",
            baseline_hours=baseline_hours,
            hours_saved=saved,
            no_speech=bool(silent),
            correction_source=correction_source,
            model=model,
            accuracy=(
                None
                if characters is None
                else Accuracy(characters, substitutions, insertions, deletions)
            ),
        )
        jobs.append(StoredJob(figures, dept_id, code))
    return jobs


def find_department(session: Session, name: str) -> Department:
    """The department called ``name`` (compared after NFKC and trimming).

    Raises:
        NotFoundError: no department has that name.
    """
    key = normalize_name(name)
    found = session.scalar(select(Department).where(Department.name_key == key))
    if found is None:
        raise NotFoundError(f"所属「{key}」は登録されていません（pilots org list で確認できます）")
    return found


def list_jobs(
    session: Session,
    *,
    default_rate: float,
    fiscal_year: int | None = None,
    department: str | None = None,
) -> list[JobFigures]:
    """Jobs with their figures, by meeting date; optionally one fiscal year or one department.

    Raises:
        NotFoundError: ``department`` names no known department.
    """
    start = end = None
    if fiscal_year is not None:
        start, end = fiscal_year_bounds(fiscal_year)
    dept_id = find_department(session, department).id if department else None
    jobs = load_jobs(
        session, default_rate=default_rate, start=start, end=end, department_id=dept_id
    )
    linked = _web_jobs(session)
    return [replace(j.figures, web_jobs=linked.get(j.figures.job_id, ())) for j in jobs]


def _web_jobs(session: Session, job_id: int | None = None) -> dict[int, tuple[int, ...]]:
    """The web queue's job numbers of each logged job (or of ``job_id`` only)."""
    query = select(WebJob.asr_job_id, WebJob.id)
    if job_id is not None:
        query = query.where(WebJob.asr_job_id == job_id)
    found: dict[int, list[int]] = {}
    rows = session.execute(query.order_by(WebJob.id))
    for asr_job_id, web_job_id in rows:
        if asr_job_id is not None:
            found.setdefault(asr_job_id, []).append(web_job_id)
    return {asr_job_id: tuple(numbers) for asr_job_id, numbers in found.items()}


def _no_such_job(job_id: int) -> NotFoundError:
    return NotFoundError(f"ジョブ #{job_id} はありません（pilots asr jobs で一覧を表示します）")


def stored_job(session: Session, job_id: int) -> AsrJob:
    """The job ``job_id`` as stored.

    Raises:
        NotFoundError: there is no job ``job_id``.
    """
    job = session.get(AsrJob, job_id)
    if job is None:
        raise _no_such_job(job_id)
    return job


def job_figures(session: Session, job_id: int, *, default_rate: float) -> JobFigures:
    """One job's figures (SPEC §3 saved(job)), with the web queue's numbers of its uploads.

    Raises:
        NotFoundError: there is no job ``job_id``.
    """
    found = load_jobs(session, default_rate=default_rate, job_id=job_id)
    if not found:
        raise _no_such_job(job_id)
    return replace(found[0].figures, web_jobs=_web_jobs(session, job_id).get(job_id, ()))

"""The job log: each transcription recorded for the time-saved measurement (SPEC §3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.result import Transcript
from pilots.org import DepartmentResolver
from pilots.tables import AsrJob, Department


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

    The meeting date is the one given for the minutes, else ``today``. A
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
    session.flush()
    return JobRecord(
        job.id,
        created,
        resolver.created[0] if resolver.created else None,
        no_speech=job.no_speech,
    )

"""The job log: each transcription recorded for the time-saved measurement (SPEC §3)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr.result import Transcript
from pilots.models import AsrJob
from pilots.org import DepartmentResolver


@dataclass(frozen=True)
class JobRecord:
    """What logging a transcription did.

    Attributes:
        job_id: the job's number (for ``pilots asr correction JOB_ID MINUTES``).
        created: False when the same recording (same SHA-256) was logged before
            and its job was updated instead.
        department_created: the department's name if this created it.
    """

    job_id: int
    created: bool
    department_created: str | None


def record_transcription(
    session: Session, transcript: Transcript, outputs: list[Path], *, today: date
) -> JobRecord:
    """Log a finished transcription as a job (or update the job of the same recording).

    The meeting date is the one given for the minutes, else ``today``. A
    correction time already reported for the recording is kept.
    """
    resolver = DepartmentResolver(session, created_by="asr transcribe")
    meeting = transcript.meeting
    department = resolver(meeting.department) if meeting.department.strip() else None
    job = session.scalar(select(AsrJob).where(AsrJob.audio_sha256 == transcript.audio_sha256))
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
    job.outputs = json.dumps([str(p) for p in outputs], ensure_ascii=False)
    session.flush()
    return JobRecord(job.id, created, resolver.created[0] if resolver.created else None)

"""The transcription queue: enqueue, claim, heartbeat, finish, fail and requeue abandoned jobs.

Library only (no web imports): ``pilots serve`` enqueues, ``pilots worker``
claims. On PostgreSQL a job is claimed with ``SELECT … FOR UPDATE SKIP
LOCKED``, so any number of workers on any number of machines take different
jobs without waiting for each other; on SQLite every transaction already
begins with ``BEGIN IMMEDIATE`` (see :mod:`pilots.db`), which makes the
select-then-update one atomic step. A claim is a lease: the worker renews it
with :func:`heartbeat`, and only the holder of the current attempt can
:func:`complete` or :func:`fail` the job, so a worker that was presumed dead
and comes back cannot finish a job a second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from pilots.db import db_now
from pilots.tables import WebJob, WebJobAudio, WebJobMaterial, WebJobOutput, WebUpload
from pilots.text import normalize_name

CHUNK_BYTES = 1 << 20  # one row of web_job_audio: small enough for any database driver
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = {
    QUEUED: "待機中",
    RUNNING: "処理中",
    DONE: "完了",
    FAILED: "失敗",
}


@dataclass(frozen=True)
class NewJob:
    """What a clerk asks for: one recording, the header of its minutes, its speakers and handouts.

    ``speakers`` is ``auto``, ``off`` or a number of speakers, as ``--speakers`` takes it.
    ``materials`` are the meeting's handouts (file name, bytes): docx, xlsx, pdf or txt.
    """

    original_name: str
    department: str = ""
    title: str = ""
    meeting_date: date | None = None
    place: str = ""
    attendees: str = ""
    glossary: str | None = None
    formats: tuple[str, ...] = ("docx", "md", "txt", "srt")
    speakers: str = "auto"
    audio_seconds: float | None = None
    submitted_by: str = ""
    upload_id: int | None = None
    materials: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: its id and the attempt that the lease belongs to."""

    job_id: int
    attempt: int
    worker: str


def enqueue(session: Session, job: NewJob, audio: BinaryIO) -> int:
    """Put a recording in the queue; its bytes are stored with the job, in chunks.

    Returns:
        The job's id.
    """
    row = WebJob(
        state=QUEUED,
        upload_id=job.upload_id,
        original_name=job.original_name,
        department=job.department,
        title=job.title,
        meeting_date=job.meeting_date,
        place=job.place,
        attendees=job.attendees,
        glossary=job.glossary,
        formats=",".join(job.formats),
        speakers=job.speakers,
        audio_seconds=job.audio_seconds,
        submitted_by=job.submitted_by,
        attempts=0,
        progress=0.0,
        size_bytes=0,
        created_at=db_now(session),
    )
    session.add(row)
    session.flush()
    for seq, (name, data) in enumerate(job.materials):
        session.add(WebJobMaterial(job_id=row.id, seq=seq, name=name, data=data))
    size = 0
    seq = 0
    while block := audio.read(CHUNK_BYTES):
        session.add(WebJobAudio(job_id=row.id, seq=seq, data=block))
        size += len(block)
        seq += 1
        if seq % 16 == 0:
            session.flush()  # keep at most a few chunks in memory
            session.expunge_all()
    session.flush()
    session.execute(update(WebJob).where(WebJob.id == row.id).values(size_bytes=size))
    return row.id


def claim(session: Session, worker: str) -> Claim | None:
    """Take the oldest queued job for ``worker``, or None when the queue is empty.

    Call inside a transaction of its own (it commits the claim with it).
    """
    query = (
        select(WebJob.id, WebJob.attempts)
        .where(WebJob.state == QUEUED)
        .order_by(WebJob.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    found = session.execute(query).first()
    if found is None:
        return None
    job_id, attempts = found
    now = db_now(session)
    session.execute(
        update(WebJob)
        .where(WebJob.id == job_id, WebJob.state == QUEUED)
        .values(
            state=RUNNING,
            worker=worker,
            attempts=attempts + 1,
            progress=0.0,
            claimed_at=now,
            heartbeat_at=now,
        )
    )
    return Claim(job_id, attempts + 1, worker)


def _held(claim: Claim) -> list[ColumnElement[bool]]:
    return [
        WebJob.id == claim.job_id,
        WebJob.state == RUNNING,
        WebJob.worker == claim.worker,
        WebJob.attempts == claim.attempt,
    ]


def heartbeat(session: Session, claim: Claim, progress: float | None = None) -> bool:
    """Renew the lease (and record the progress, 0–1). False: the job is no longer ours."""
    values: dict[str, object] = {"heartbeat_at": db_now(session)}
    if progress is not None:
        values["progress"] = max(0.0, min(1.0, progress))
    result = session.execute(update(WebJob).where(*_held(claim)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def still_held(session: Session, claim: Claim) -> bool:
    """Lock the job's row and tell whether ``claim`` still holds it (before finishing it)."""
    found = session.execute(select(WebJob.id).where(*_held(claim)).with_for_update()).first()
    return found is not None


def complete(
    session: Session, claim: Claim, outputs: dict[str, bytes], asr_job_id: int | None
) -> bool:
    """Mark the job done with its drafts; the queued recording is dropped.

    Must run in the same transaction as the job log entry, after
    :func:`still_held` returned True, so that both land or neither does.

    Returns:
        False when the job is no longer held by ``claim`` (nothing is changed).
    """
    result = session.execute(
        update(WebJob)
        .where(*_held(claim))
        .values(
            state=DONE,
            progress=1.0,
            asr_job_id=asr_job_id,
            error=None,
            finished_at=db_now(session),
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(delete(WebJobOutput).where(WebJobOutput.job_id == claim.job_id))
    for fmt, data in outputs.items():
        session.add(WebJobOutput(job_id=claim.job_id, format=fmt, data=data))
    session.execute(delete(WebJobAudio).where(WebJobAudio.job_id == claim.job_id))
    session.execute(delete(WebJobMaterial).where(WebJobMaterial.job_id == claim.job_id))
    session.flush()
    return True


def fail(session: Session, claim: Claim, error: str) -> bool:
    """Mark the job failed with a message for the clerk (a recording that cannot be read …)."""
    result = session.execute(
        update(WebJob)
        .where(*_held(claim))
        .values(state=FAILED, error=error, finished_at=db_now(session))
    )
    if result.rowcount:  # type: ignore[attr-defined]
        session.execute(delete(WebJobAudio).where(WebJobAudio.job_id == claim.job_id))
        session.execute(delete(WebJobMaterial).where(WebJobMaterial.job_id == claim.job_id))
        return True
    return False


def release(session: Session, claim: Claim) -> bool:
    """Give a job back to the queue unfinished (the worker is stopping)."""
    result = session.execute(
        update(WebJob)
        .where(*_held(claim))
        .values(state=QUEUED, worker=None, progress=0.0, attempts=WebJob.attempts - 1)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Requeued:
    """What :func:`requeue_stale` did: jobs back in the queue, and jobs given up."""

    requeued: list[int]
    failed: list[int]


def requeue_stale(session: Session, *, stale_seconds: float, max_attempts: int) -> Requeued:
    """Put running jobs whose worker stopped reporting back in the queue.

    A job that has already been started ``max_attempts`` times fails instead:
    a recording that kills its worker every time must not block the queue.
    """
    threshold = db_now(session) - timedelta(seconds=stale_seconds)
    stale = list(
        session.execute(
            select(WebJob.id, WebJob.attempts)
            .where(WebJob.state == RUNNING, WebJob.heartbeat_at < threshold)
            .with_for_update(skip_locked=True)
        )
    )
    back = [job_id for job_id, attempts in stale if attempts < max_attempts]
    dead = [job_id for job_id, attempts in stale if attempts >= max_attempts]
    if back:
        session.execute(
            update(WebJob)
            .where(WebJob.id.in_(back), WebJob.state == RUNNING)
            .values(state=QUEUED, worker=None, progress=0.0)
        )
    if dead:
        session.execute(
            update(WebJob)
            .where(WebJob.id.in_(dead), WebJob.state == RUNNING)
            .values(
                state=FAILED,
                error=f"処理が{max_attempts}回とも途中で止まりました（作業プロセスの異常終了）",
                finished_at=db_now(session),
            )
        )
        session.execute(delete(WebJobAudio).where(WebJobAudio.job_id.in_(dead)))
    return Requeued(back, dead)


def audio_chunks(session: Session, job_id: int) -> Iterator[bytes]:
    """The job's recording, one stored chunk at a time."""
    seqs = list(
        session.scalars(
            select(WebJobAudio.seq).where(WebJobAudio.job_id == job_id).order_by(WebJobAudio.seq)
        )
    )
    for seq in seqs:
        data = session.scalar(
            select(WebJobAudio.data).where(WebJobAudio.job_id == job_id, WebJobAudio.seq == seq)
        )
        if data is not None:
            yield bytes(data)


def write_audio(session: Session, job_id: int, path: Path) -> str:
    """Write the job's recording to ``path``; returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for block in audio_chunks(session, job_id):
            out.write(block)
            digest.update(block)
    return digest.hexdigest()


def write_materials(session: Session, job_id: int, folder: Path) -> list[Path]:
    """Write the job's handouts into ``folder`` (numbered, their suffix kept); their paths."""
    rows = session.scalars(
        select(WebJobMaterial).where(WebJobMaterial.job_id == job_id).order_by(WebJobMaterial.seq)
    )
    paths: list[Path] = []
    for row in rows:
        path = folder / f"material{row.seq}{Path(row.name).suffix.lower()}"
        path.write_bytes(bytes(row.data))
        paths.append(path)
    return paths


def output(session: Session, job_id: int, fmt: str) -> bytes | None:
    """One draft of a finished job, or None."""
    data = session.scalar(
        select(WebJobOutput.data).where(WebJobOutput.job_id == job_id, WebJobOutput.format == fmt)
    )
    return bytes(data) if data is not None else None


def output_formats(session: Session, job_ids: list[int]) -> dict[int, list[str]]:
    """The drafts each finished job has, by job id."""
    found: dict[int, list[str]] = {}
    if not job_ids:
        return found
    rows = session.execute(
        select(WebJobOutput.job_id, WebJobOutput.format)
        .where(WebJobOutput.job_id.in_(job_ids))
        .order_by(WebJobOutput.job_id)
    )
    for job_id, fmt in rows:
        found.setdefault(job_id, []).append(fmt)
    return found


def counts(session: Session, department: str = "") -> dict[str, int]:
    """How many jobs are in each state: all of them, or one department's (NFKC compared)."""
    key = normalize_name(department) if department else None
    rows = session.execute(
        select(WebJob.state, WebJob.department, func.count()).group_by(
            WebJob.state, WebJob.department
        )
    )
    found: dict[str, int] = {}
    for state, name, n in rows:
        if key is None or normalize_name(name) == key:
            found[state] = found.get(state, 0) + n
    return found


def recent_duplicate(
    session: Session, sha256: str, department: str, *, minutes: float
) -> int | None:
    """The job that the same recording from the same department became within ``minutes``.

    A double click, or a form sent again, must not transcribe one meeting twice.
    A failed job does not count (sending the file again is how to retry it).
    Call in the transaction that enqueues the new job: on PostgreSQL it takes a
    lock on the recording's hash, held until that transaction ends, so that
    two requests with the same file at once cannot both miss each other (on
    SQLite every transaction already holds the write lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(sha256[:15], 16)})
    since = db_now(session) - timedelta(minutes=minutes)
    rows = session.execute(
        select(WebJob.id, WebJob.department)
        .join(WebUpload, WebJob.upload_id == WebUpload.id)
        .where(WebUpload.sha256 == sha256, WebJob.created_at >= since, WebJob.state != FAILED)
        .order_by(WebJob.id)
    )
    key = normalize_name(department)
    return next((job_id for job_id, name in rows if normalize_name(name) == key), None)

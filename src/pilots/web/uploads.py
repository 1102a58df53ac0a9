"""Uploaded files: stored under generated names, size-limited, and checked by their content.

Nothing a browser sends becomes part of a path: a file is written as
``<data_dir>/uploads/<uuid>.<ext>``, where the extension comes from what the
content was found to be (audio that PyAV can decode, CSV text that decodes as
UTF-8 or CP932, an xlsx workbook that openpyxl opens) and never from the name
the user gave. That name is kept for display only (see
:class:`pilots.tables.WebUpload`).

Recordings are personal data: :func:`purge_recordings` deletes those of jobs
finished longer ago than the ``recording_retention_days`` setting (the file,
the queue's copy and a worker's leftovers), and :func:`delete_recording` one
job's at the clerk's request; the job and its measurement record stay.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pilots.db import db_now
from pilots.errors import PilotsError
from pilots.tables import WebJob, WebJobAudio, WebUpload
from pilots.web.playback import copy_path
from pilots.web.queue import DONE, FAILED, QUEUED, RUNNING

AUDIO, CSV, XLSX, TEXT = "audio", "csv", "xlsx", "text"
_EXTENSIONS = {AUDIO: "audio", CSV: "csv", XLSX: "xlsx", TEXT: "txt"}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(audio|csv|xlsx|txt)$")
_COPY_BYTES = 1 << 20
_SNIFF_BYTES = 64 * 1024


class UploadError(PilotsError):
    """An upload that is refused: wrong kind of content, empty, or too large."""

    status_code = 400


class UploadTooLarge(UploadError):
    """The upload is over the ``upload_limit_mb`` setting."""

    status_code = 413


@dataclass(frozen=True)
class StoredFile:
    """An upload on disk.

    Attributes:
        path: where it is (``<data_dir>/uploads/<stored_name>``).
        stored_name: the generated name.
        original_name: the browser's name for it, cleaned for display (untrusted).
        kind: ``audio``, ``csv``, ``xlsx`` or ``text``.
        size: bytes.
        sha256: hex digest of the content.
        audio_seconds: the recording's length, for audio whose header gives one.
    """

    path: Path
    stored_name: str
    original_name: str
    kind: str
    size: int
    sha256: str
    audio_seconds: float | None = None


def uploads_dir(data_dir: Path) -> Path:
    """The folder uploads are stored in."""
    return data_dir / "uploads"


def display_name(name: str | None) -> str:
    """The last component of a browser-given file name, without control characters.

    Only ever shown (escaped) or written into a ``Content-Disposition``
    header; never used as a path.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = PurePath(text.replace("\\", "/")).name
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return text[:200] or "無題"


def format_mb(size: int) -> str:
    """Bytes as MB for messages: 0.05, 500, 1,500."""
    return f"{size / 1024 / 1024:,.2f}".rstrip("0").rstrip(".")


def limit_bytes(limit_mb: float) -> int:
    """The ``upload_limit_mb`` setting in bytes."""
    return int(limit_mb * 1024 * 1024)


def save(
    source: BinaryIO,
    data_dir: Path,
    original_name: str | None,
    *,
    accept: Iterable[str],
    limit: int,
) -> StoredFile:
    """Copy an upload into the uploads folder and check that its content is of an accepted kind.

    Args:
        source: the uploaded file, read from its start.
        data_dir: the data folder (``PILOTS_DATA_DIR``).
        original_name: the browser's name for the file (display only).
        accept: the kinds the form takes (``audio``, ``csv``, ``xlsx``, ``text``).
        limit: the most bytes accepted.

    Raises:
        UploadTooLarge: more than ``limit`` bytes.
        UploadError: empty, or its content is none of the kinds in ``accept``.
    """
    shown = display_name(original_name)
    folder = uploads_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    partial = folder / f"{token}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            while block := source.read(_COPY_BYTES):
                size += len(block)
                if size > limit:
                    raise UploadTooLarge(
                        f"{shown}: ファイルが大きすぎます（上限 {format_mb(limit)} MB）"
                    )
                digest.update(block)
                out.write(block)
        if size == 0:
            raise UploadError(f"{shown}: 空のファイルです")
        kind, seconds = sniff(partial, shown, set(accept))
        stored_name = f"{token}.{_EXTENSIONS[kind]}"
        path = folder / stored_name
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredFile(path, stored_name, shown, kind, size, digest.hexdigest(), seconds)


def sniff(path: Path, shown: str, accept: set[str]) -> tuple[str, float | None]:
    """What the file's content is (and a recording's length), by decoding it.

    Raises:
        UploadError: it is none of ``accept``.
    """
    expected = "・".join(
        {AUDIO: "録音（音声ファイル）", CSV: "CSV", XLSX: "Excel（xlsx）", TEXT: "テキスト"}[k]
        for k in (AUDIO, CSV, XLSX, TEXT)
        if k in accept
    )
    if zipfile.is_zipfile(path):
        if XLSX in accept and _is_xlsx(path):
            return XLSX, None
        raise UploadError(f"{shown}: {expected} ではありません（ZIP形式のファイルです）")
    head = _head(path)
    if CSV in accept or TEXT in accept:
        kind = CSV if CSV in accept else TEXT
        if _is_text(head, complete=path.stat().st_size <= _SNIFF_BYTES):
            return kind, None
    if AUDIO in accept:
        seconds = _audio_seconds(path)
        if seconds is not False:
            return AUDIO, seconds
    raise UploadError(f"{shown}: ファイルの中身が {expected} ではありません")


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(_SNIFF_BYTES)


def _is_text(head: bytes, *, complete: bool) -> bool:
    from pilots.tabular import decode

    if b"\x00" in head:
        return False
    if not complete:
        # Cut at the last line end so that a multi-byte character is not split.
        cut = head.rfind(b"\n")
        head = head[: cut + 1] if cut > 0 else head
    try:
        text, _encoding = decode(Path("upload"), head)
    except PilotsError:
        return False
    printable = sum(1 for c in text if c.isprintable() or c in "\r\n\t")
    return printable >= 0.98 * len(text)


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            return False
        import openpyxl

        # Given a path, openpyxl refuses any name not ending in .xlsx/.xlsm (ours is
        # ``<uuid>.part`` until the check passes); given the open file, it reads the content.
        with path.open("rb") as f:
            book = openpyxl.load_workbook(f, read_only=True, data_only=True)
            book.close()
        return True
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        return False


def _audio_seconds(path: Path) -> float | bool | None:
    """The recording's length (None if its header has none), or False if it is not audio."""
    try:
        from pilots.asr.audio import probe_duration
    except ImportError:  # pragma: no cover - the asr extra is not installed
        return False
    try:
        return probe_duration(path)
    except PilotsError:
        return False


def resolve(data_dir: Path, stored_name: str) -> Path:
    """The path of an upload from its generated name (checked: no other path can come out)."""
    if not _STORED_NAME.match(stored_name):
        raise UploadError("アップロードされたファイルの名前が正しくありません")
    return uploads_dir(data_dir) / stored_name


def record(session: Session, stored: StoredFile, purpose: str, user: str) -> WebUpload:
    """Note the upload in the database (what it is, who sent it, its original name)."""
    row = WebUpload(
        stored_name=stored.stored_name,
        original_name=stored.original_name,
        kind=stored.kind,
        purpose=purpose,
        size_bytes=stored.size,
        sha256=stored.sha256,
        uploaded_by=user,
    )
    session.add(row)
    session.flush()
    return row


def find(
    session: Session, data_dir: Path, stored_name: str, *, purpose: str, user: str
) -> StoredFile:
    """An earlier upload of ``user`` for ``purpose``, by its generated name.

    Raises:
        UploadError: the name is not a generated one, or no such upload of this
            user for this purpose is on disk.
    """
    path = resolve(data_dir, stored_name)
    row = session.scalar(
        select(WebUpload).where(
            WebUpload.stored_name == stored_name,
            WebUpload.purpose == purpose,
            WebUpload.uploaded_by == user,
        )
    )
    if row is None or not path.is_file():
        raise UploadError("先にアップロードしたファイルが見つかりません。もう一度選んでください")
    return StoredFile(
        path, row.stored_name, row.original_name, row.kind, row.size_bytes, row.sha256
    )


def original_names(session: Session, data_dir: Path) -> dict[str, str]:
    """Map each stored upload's path (as the libraries record it) to its original name."""
    folder = uploads_dir(data_dir)
    rows = session.execute(select(WebUpload.stored_name, WebUpload.original_name))
    return {str(folder / stored): original for stored, original in rows}


def shown_text(message: str, stored: StoredFile) -> str:
    """A library message about ``stored`` with the generated path replaced by the original name."""
    return message.replace(str(stored.path), stored.original_name)


# --- retention: recordings are deleted once their job has been done for a while -----------

ORPHAN_GRACE = timedelta(days=1)
"""An upload file that no job refers to is left alone this long: its request may still run."""


def work_dir(data_dir: Path) -> Path:
    """Where a worker keeps its copy of the recording it transcribes (``work/job<N>-…``)."""
    return data_dir / "work"


@dataclass(frozen=True)
class DeletedRecording:
    """A job whose recording was deleted (the job and its measurement record stay).

    Attributes:
        job_id: the web job (議事録作成 page).
        original_name: the recording's name as the browser sent it.
        department: the job's department.
        finished_at: when the job was done (naive UTC).
        size_bytes: bytes deleted from disk and from the queue.
    """

    job_id: int
    original_name: str
    department: str
    finished_at: datetime | None
    size_bytes: int


@dataclass
class PurgeResult:
    """What :func:`purge_recordings` deleted.

    Attributes:
        older_than_days: recordings of jobs finished longer ago than this were deleted.
        recordings: the jobs whose recording was deleted.
        orphans: upload files of recordings that never became a job (the request
            broke off), deleted once they were as old.
        work_folders: leftovers of workers on this machine for finished jobs.
        size_bytes: bytes freed in all.
    """

    older_than_days: float
    recordings: list[DeletedRecording] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    work_folders: int = 0
    size_bytes: int = 0


def recording(session: Session, data_dir: Path, job: WebJob) -> Path | None:
    """The uploaded recording of ``job`` on disk, or None once it is deleted (or was never here)."""
    if job.recording_deleted_at is not None or job.upload_id is None:
        return None
    stored = session.scalar(select(WebUpload.stored_name).where(WebUpload.id == job.upload_id))
    path = resolve(data_dir, stored) if stored is not None else None
    return path if path is not None and path.is_file() else None


def delete_recording(session: Session, data_dir: Path, job: WebJob) -> int:
    """Delete one finished job's recording everywhere pilots keeps it; returns the bytes freed.

    The upload file and its playable copy (:mod:`pilots.web.playback`), the
    queue's chunks, and any copy a worker on this machine left behind go; the
    job, its drafts and its measurement record (department, duration, times,
    accuracy) stay, and the job notes when the recording went.
    """
    freed = 0
    if job.upload_id is not None:
        stored = session.scalar(select(WebUpload.stored_name).where(WebUpload.id == job.upload_id))
        if stored is not None:
            original = resolve(data_dir, stored)
            freed += _unlink(original) + _unlink(copy_path(original))
    # The queue drops its copy when a job ends; this makes sure of it.
    session.execute(delete(WebJobAudio).where(WebJobAudio.job_id == job.id))
    for folder in work_dir(data_dir).glob(f"job{job.id}-*"):
        shutil.rmtree(folder, ignore_errors=True)
    job.recording_deleted_at = db_now(session)
    session.flush()
    return freed


def _unlink(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:  # deleted by hand, or by a purge that did not commit
        return 0
    return size


def remove_work_leftovers(session: Session, data_dir: Path) -> int:
    """Remove the copies a worker on this machine left behind for jobs no longer running.

    A worker deletes its copy of the recording when it finishes a job; one that
    was killed cannot. Returns how many folders were removed.
    """
    folder = work_dir(data_dir)
    if not folder.is_dir():
        return 0
    found: dict[int, list[Path]] = {}
    for path in folder.iterdir():
        number = path.name.partition("-")[0].removeprefix("job")
        if path.is_dir() and number.isdigit():
            found.setdefault(int(number), []).append(path)
    running = set(
        session.scalars(
            select(WebJob.id).where(WebJob.id.in_(list(found)), WebJob.state.in_((QUEUED, RUNNING)))
        )
    )
    removed = 0
    for job_id, paths in found.items():
        if job_id not in running:
            for path in paths:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


def purge_recordings(
    session: Session, data_dir: Path, *, older_than_days: float, now: datetime | None = None
) -> PurgeResult:
    """Delete the recordings of jobs finished more than ``older_than_days`` ago.

    The ``recording_retention_days`` setting gives the period (``pilots asr
    purge --older-than`` and the server's own hourly purge use it). Meeting
    audio carries personal information, so it is kept only as long as the
    clerk may need to check a draft against it.

    Args:
        session: the database.
        data_dir: the data folder holding ``uploads/`` (and a worker's ``work/``).
        older_than_days: age, counted from the job's end, of the recordings deleted.
        now: the current time (naive UTC); the database's clock by default.
    """
    now = now or db_now(session)
    cutoff = now - timedelta(days=older_than_days)
    result = PurgeResult(older_than_days)
    jobs = session.scalars(
        select(WebJob)
        .where(
            WebJob.state.in_((DONE, FAILED)),
            WebJob.recording_deleted_at.is_(None),
            WebJob.finished_at <= cutoff,
        )
        .order_by(WebJob.id)
    ).all()
    for job in jobs:
        freed = delete_recording(session, data_dir, job)
        result.recordings.append(
            DeletedRecording(job.id, job.original_name, job.department, job.finished_at, freed)
        )
        result.size_bytes += freed
    # Files of recordings that never became a job: the request broke off between
    # storing the file and queueing it, or a half-written upload of a killed server.
    linked_query = select(WebUpload.stored_name).join(WebJob, WebJob.upload_id == WebUpload.id)
    linked = set(session.scalars(linked_query))
    orphan_cutoff = min(cutoff, now - ORPHAN_GRACE).replace(tzinfo=UTC).timestamp()
    folder = uploads_dir(data_dir)
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (
            path.suffix in (".audio", ".part")
            and path.name not in linked
            and path.stat().st_mtime < orphan_cutoff
        ):
            result.size_bytes += _unlink(path)
            result.orphans.append(path.name)
    result.work_folders = remove_work_leftovers(session, data_dir)
    return result

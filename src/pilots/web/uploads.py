"""Uploaded files: stored under generated names, size-limited, and checked by their content.

Nothing a browser sends becomes part of a path: a file is written as
``<data_dir>/uploads/<uuid>.<ext>``, where the extension comes from what the
content was found to be (audio that PyAV can decode, CSV text that decodes as
UTF-8 or CP932, an xlsx workbook that openpyxl opens) and never from the name
the user gave. That name is kept for display only (see
:class:`pilots.models.WebUpload`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.errors import PilotsError
from pilots.models import WebUpload

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

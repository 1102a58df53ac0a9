"""Writing files atomically: temporary name, then rename."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from pilots.errors import OutputFileError

Writer = Callable[[Path], object]
"""Writes a whole file at the path it is given (a temporary name beside the target).

What it returns is ignored (so ``Path.write_bytes`` will do)."""


def temporary_path(path: Path) -> Path:
    """Return an unused hidden name beside ``path``: ``.<name>.tmp-<random>``.

    The name is in the same folder so that the final rename stays on one file
    system (and so is atomic); the leading dot keeps it out of casual listings.
    """
    while True:
        candidate = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
        if not candidate.exists():
            return candidate


def check_folder(path: Path) -> None:
    """Refuse an output folder that cannot be made, before any long work is done.

    Raises:
        OutputFileError: ``path``, or a folder above it, is a file.
    """
    for candidate in (path, *path.parents):
        if candidate.exists():
            if candidate.is_dir():
                return
            where = "" if candidate == path else f"{candidate} は"
            raise OutputFileError(path, f"{where}フォルダではなくファイルです")


def make_folder(path: Path) -> None:
    """Create the output folder ``path`` and the folders above it, unless it exists.

    Raises:
        OutputFileError: it cannot be made (a file in the way, no permission),
            naming the folder.
    """
    check_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFileError(path, exc.strerror or str(exc)) from None


def _flush_to_disk(path: Path) -> None:
    # Without this a power cut right after the rename can leave an empty file
    # under the final name on some file systems. "r+b" because Windows refuses
    # to flush a handle opened read-only.
    with path.open("r+b") as handle:
        os.fsync(handle.fileno())


def atomic_write(path: Path, write: Writer) -> None:
    """Write ``path`` so that it is either complete or untouched.

    ``write`` writes the whole file at a temporary name beside ``path``; only
    when it returns is the file renamed to ``path`` (replacing any file there).
    If ``write`` raises, KeyboardInterrupt included, the temporary file is
    removed and the exception passes on; ``path`` is left as it was.

    Args:
        path: the file to write.
        write: called once with the temporary path to write to.
    """
    atomic_write_all([(path, write)])


def atomic_write_all(items: Iterable[tuple[Path, Writer]]) -> list[Path]:
    """Write several files all or nothing.

    Every file is first written at its own temporary name; only when all the
    writers have returned are they renamed into place. So a writer that fails
    leaves every target as it was (earlier versions included) and no
    temporary file behind. If a rename itself fails (a file held open by
    another program on Windows), the files already renamed in this call are
    removed, so that no mixed set of new and old files remains.

    Args:
        items: pairs of target path and the writer for it.

    Returns:
        The paths written, in the order given.
    """
    pending: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    try:
        for path, write in items:
            temporary = temporary_path(path)
            pending.append((temporary, path))
            write(temporary)
            _flush_to_disk(temporary)
        for temporary, path in pending:
            os.replace(temporary, path)
            placed.append(path)
    except BaseException as exc:
        for temporary, _ in pending:
            temporary.unlink(missing_ok=True)
        for path in placed:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            finals = {str(t): p for t, p in pending}
            name = exc.filename2 or exc.filename
            if name:
                target = finals.get(str(name), Path(str(name)))
            else:
                target = pending[-1][1] if pending else Path("?")
            reason = exc.strerror or str(exc)
            if isinstance(exc, PermissionError):
                reason += "。Word などで開いていれば閉じてください"
            raise OutputFileError(target, reason) from exc
        raise
    return placed

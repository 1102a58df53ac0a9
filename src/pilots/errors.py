"""The PilotsError family: every failure a user can cause, with a Japanese message."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PilotsError(Exception):
    """Base of every error a user can cause; its text is shown as one Japanese line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PilotsError):
    """A setting or command-line option has an unusable value."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class DatabaseError(PilotsError):
    """The database URL is wrong or the database cannot be reached."""


class CalendarError(PilotsError):
    """A date or period that cannot be read or lies outside what is allowed."""


class InputFileError(PilotsError):
    """A file a user gave cannot be read; names the file and, where known, the row.

    Args:
        path: the file.
        message: what is wrong, in Japanese.
        line: 1-based line (CSV) or row (xlsx) number, if the problem is in one row.
        column: the column header, if the problem is in one cell.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = message
        where = self.path
        if line is not None:
            where += f" {line}行目"
        if column is not None:
            where += f"（列「{column}」）"
        super().__init__(f"{where}: {message}")


class TruncatedRowError(InputFileError):
    """A CSV file ends inside a quoted value: its last row was cut off (a truncated download).

    Imports that skip bad rows one by one list it as unreadable and keep the
    rest; the others refuse the file with this one line. ``cells`` are what
    there is of the row.
    """

    REASON = (
        '引用符（"）で始まった値が閉じないままファイルが終わっています'
        "（途中で切れた行です。ダウンロードし直してください）"
    )

    def __init__(self, path: str | Path, line: int, cells: Sequence[str]) -> None:
        super().__init__(path, self.REASON, line=line)
        self.record_line = line
        self.cells = list(cells)


class NotFoundError(PilotsError):
    """A record a user named (a job, a survey, a task) does not exist."""


class StateError(PilotsError):
    """An action the record's state does not allow (reopening a correction that is not finished)."""


class OutputFileError(PilotsError):
    """An output file cannot be written (no permission, disk full, held open by Word)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: 書き込めません（{reason}）")
        self.path = str(path)

"""What every run log format is made of: the fields of a row, the status classes, the header.

The vendor modules (:mod:`.wmc`, :mod:`.uipath`, :mod:`.pad`, :mod:`.generic`)
build their :class:`RunFormat` from these parts; the registry that picks one
for a file is :mod:`pilots.rpa.formats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pilots.errors import InputFileError
from pilots.text import normalize_name

SUCCESS = "success"
FAILURE = "failure"
OTHER = "other"
STATUSES = (SUCCESS, FAILURE, OTHER)


@dataclass(frozen=True)
class Layout:
    """Where a run's fields are in a file's rows.

    Each field lists the columns to read, in order of preference: the first
    non-empty cell wins. An empty tuple means the file has no such column (the
    run then stores None for it, not an empty text).

    Attributes:
        run_id: the export's own id of the run (none: a content hash is used).
        scenario: the scenario / process / flow name.
        status: the status as exported (kept as ``status_raw``).
        started: start time.
        ended: end time.
        created: creation / queue time, used only when both others are empty.
        cases: item count (none: the catalog's cases per run).
        robot: the terminal (machine or robot) that ran it.
        error_code: the error code (WinActor エラーコード, Power Automate errorcode).
        error: the error message (WinActor エラー, UiPath Info, errormessage).
        retries: the retry count (WinActor リトライカウント).
    """

    scenario: tuple[int, ...]
    status: tuple[int, ...]
    started: tuple[int, ...]
    ended: tuple[int, ...]
    run_id: tuple[int, ...] = ()
    created: tuple[int, ...] = ()
    cases: tuple[int, ...] = ()
    robot: tuple[int, ...] = ()
    error_code: tuple[int, ...] = ()
    error: tuple[int, ...] = ()
    retries: tuple[int, ...] = ()


class RowError(Exception):
    """A row that cannot be read; the reason (Japanese) is stored as a reject."""


StatusClass = tuple[str, bool]
"""A status's class (success/failure/other) and whether it is final (cannot change any more)."""


@dataclass(frozen=True)
class RunFormat:
    """One vendor export.

    Attributes:
        name: the ``--format`` value (``wmc``).
        label: what it is, for people.
        expects: the header it needs, for the error shown when no format fits.
        detect: True when a header is this export's.
        bind: checks the header and returns where each field is in its rows.
        statuses: status values (as :func:`status_key` gives them) → class.
    """

    name: str
    label: str
    expects: str
    detect: Callable[[Sequence[str]], bool]
    bind: Callable[[Path, Sequence[str]], Layout]
    statuses: Mapping[str, StatusClass]

    def classify(self, raw: str) -> StatusClass:
        """Map a raw status onto its class; an unknown value is ``other`` and not final.

        An unknown value never counts as a failure (or a success): it is listed
        with the other runs by its raw value so that a person can look at it.
        """
        return self.statuses.get(status_key(raw), (OTHER, False))


def header_key(text: str) -> str:
    """How header cells are compared: NFKC, without spaces, case-blind (（秒） = (秒))."""
    return normalize_name(text).replace(" ", "").replace("\u3000", "").lower()


def status_key(text: str) -> str:
    """How status values are compared: NFKC, trimmed, case-blind."""
    return normalize_name(text).lower()


def status_table(
    success: Iterable[str], failure: Iterable[str], final: Iterable[str], pending: Iterable[str]
) -> dict[str, StatusClass]:
    """Build a status table: success and failure are final, ``final`` and ``pending`` are other."""
    table: dict[str, StatusClass] = {}
    for values, cls in (
        (success, (SUCCESS, True)),
        (failure, (FAILURE, True)),
        (final, (OTHER, True)),
        (pending, (OTHER, False)),
    ):
        for value in values:
            table[status_key(value)] = cls
    return table


class Header:
    """A file's header, to find columns by any of their names."""

    def __init__(self, path: Path, cells: Sequence[str]) -> None:
        self.path = path
        self._keys: dict[str, int] = {}
        for i, cell in enumerate(cells):
            self._keys.setdefault(header_key(cell), i)

    def col(self, *names: str) -> tuple[int, ...]:
        """The column of the first of ``names`` the header has, or () if none."""
        for name in names:
            index = self._keys.get(header_key(name))
            if index is not None:
                return (index,)
        return ()

    def need(self, *names: str) -> tuple[int, ...]:
        """Like :meth:`col`, for a column the format cannot do without.

        Raises:
            InputFileError: none of ``names`` is in the header.
        """
        found = self.col(*names)
        if not found:
            raise InputFileError(self.path, f"必要な列がありません: {' / '.join(names)}", line=1)
        return found


def has_all(header: Sequence[str], *groups: Sequence[str]) -> bool:
    """True when, for every group of alternative names, the header has one of them."""
    keys = {header_key(h) for h in header}
    return all(any(header_key(n) in keys for n in group) for group in groups)

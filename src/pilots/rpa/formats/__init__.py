"""Bot run log formats: the registry, and recognising an export by its header.

Each vendor module (:mod:`.wmc`, :mod:`.uipath`, :mod:`.pad`, :mod:`.generic`)
describes one export as a :class:`RunFormat`: how to recognise its header,
where its fields are in a row (:class:`Layout`), and how its status values map onto
SPEC §4's ``success`` / ``failure`` / ``other``, from the parts in
:mod:`.base` (re-exported here for the readers of run logs). Everything else (dates, time
zones, scenario matching, keys, rejects) is common and lives in
:mod:`pilots.rpa.normalise`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pilots.errors import InputFileError
from pilots.rpa.formats import generic, pad, uipath, wmc
from pilots.rpa.formats.base import (
    FAILURE,
    OTHER,
    STATUSES,
    SUCCESS,
    Layout,
    RowError,
    RunFormat,
    StatusClass,
)

__all__ = [
    "FAILURE",
    "FORMAT_NAMES",
    "OTHER",
    "STATUSES",
    "SUCCESS",
    "Layout",
    "RowError",
    "RunFormat",
    "StatusClass",
    "choose_format",
    "get_format",
]


# Most specific first: a WinActor export would also pass for the generic layout.
_REGISTRY: dict[str, RunFormat] = {
    f.name: f for f in (wmc.FORMAT, uipath.FORMAT, pad.FORMAT, generic.FORMAT)
}

FORMAT_NAMES = ("wmc", "uipath", "pad", "generic")


def get_format(name: str) -> RunFormat:
    """The format called ``name`` (``wmc``, ``uipath``, ``pad``, ``generic``)."""
    return _REGISTRY[name]


def choose_format(path: Path, header: Sequence[str], name: str = "auto") -> RunFormat:
    """Recognise a run log by its header, or check it against the format asked for.

    Raises:
        InputFileError: no format fits (the message lists what each one needs),
            or the header is not the asked-for format's.
    """
    registry = _REGISTRY
    if name != "auto":
        if name not in registry:
            raise InputFileError(
                path, f"形式は auto, {', '.join(FORMAT_NAMES)} のいずれかです: {name}"
            )
        chosen = registry[name]
        if not chosen.detect(header):
            raise InputFileError(
                path, f"{chosen.label}（{name}）の見出しではありません。{chosen.expects}", line=1
            )
        return chosen
    for candidate in registry.values():
        if candidate.detect(header):
            return candidate
    shown = ", ".join(h for h in header[:12] if h) + (" …" if len(header) > 12 else "")
    expected = " / ".join(f"{f.name}: {f.expects}" for f in registry.values())
    raise InputFileError(
        path,
        f"実行ログの形式を判別できません（見出し: {shown}）。各形式の見出し — {expected}",
        line=1,
    )

"""Printing results: aligned tables that respect full-width characters, JSON, and the console.

On Japanese Windows a console redirected to a file or a pipe is encoded in
CP932, which lacks characters pilots prints (— in help texts, ≥ in rules, a
department name as typed). :func:`tolerate_console_encoding` makes every
write to stdout and stderr survive such a stream, once, at the edge.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import sys
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: full-width (East Asian W/F) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render rows under headers with columns padded to their display width."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(display_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        padded = (v + " " * (w - display_width(v)) for v, w in zip(row, widths, strict=True))
        return "  ".join(padded).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def format_figure(value: float, decimals: int = 1) -> str:
    """A figure for people: thousands separators, ``decimals`` places, the sign where it counts.

    A value that rounds to zero is 0 — never "-0" or "-0.0", which reads as a loss
    where there is none; a negative value keeps its minus sign (-1.5).
    """
    text = f"{value:,.{decimals}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        return text[1:]
    return text


def _fields(value: Any) -> dict[str, Any]:
    # One level only: json calls _default again for a dataclass inside. asdict
    # deep-copies every list and dict first, three quarters of the time of
    # ``pilots rpa issues --json`` on a million runs (measured).
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(value: Any) -> str:
    """Serialise a result dataclass (or list of them) as indented UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default)


# What CP932 (and the other Japanese encodings) write for characters they lack.
_SUBSTITUTES = {
    "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
    "\u2013": "\uff0d",  # – EN DASH → －
    "\u2212": "\uff0d",  # − MINUS SIGN → －
    "\u301c": "\uff5e",  # 〜 WAVE DASH → ～
    "\u2016": "\u2225",  # ‖ → ∥
    "\u00a2": "\uffe0",  # ¢ → ￠
    "\u00a3": "\uffe1",  # £ → ￡
    "\u00ac": "\uffe2",  # ¬ → ￢
    "\u00a6": "\uffe4",  # ¦ → ￤
    "\u2265": "\u2267",  # ≥ → ≧
    "\u2264": "\u2266",  # ≤ → ≦
    "\u00b7": "\u30fb",  # · MIDDLE DOT → ・
    "\u2022": "\u30fb",  # • BULLET → ・
    "\u2588": "\u25a0",  # █ FULL BLOCK → ■
    "\u2591": "\u25a1",  # ░ LIGHT SHADE → □
    "\u2715": "\u00d7",  # ✕ → ×
    "\u00a0": " ",  # NO-BREAK SPACE
}
_ERROR_HANDLER = "pilots.substitute"


def substitute(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a character the stream's encoding lacks becomes one it has.

    A known look-alike (― for —, ≧ for ≥), else the character's NFKC form
    (2 for ²), else ``?``.
    """
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for char in error.object[error.start : error.end]:
        for candidate in (_SUBSTITUTES.get(char), unicodedata.normalize("NFKC", char)):
            if candidate and _encodes(candidate, error.encoding):
                out.append(candidate)
                break
        else:
            out.append("?")
    return "".join(out), error.end


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def tolerate_console_encoding() -> None:
    """Let stdout and stderr write any text, whatever their encoding.

    A stream whose encoding cannot write every character (CP932 when output
    is redirected on Japanese Windows) substitutes the ones it lacks (see
    :func:`substitute`) instead of failing; UTF-8 streams are left alone.
    """
    codecs.register_error(_ERROR_HANDLER, substitute)
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or ""
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or not encoding or codecs.lookup(encoding).name.startswith("utf"):
            continue
        reconfigure(errors=_ERROR_HANDLER)

"""Printing results: aligned tables that respect full-width characters, and JSON."""

from __future__ import annotations

import dataclasses
import json
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


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
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
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, ensure_ascii=False, indent=2, default=_default)

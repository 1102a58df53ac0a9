"""The satisfaction scale (SPEC §5): its five answers, and how an answer cell is classified.

Answers are compared after Unicode NFKC with all spaces removed. A leading
choice number as forms often write it (``1. 大変満足``, ``(5)満足``, ``①満足``)
is ignored; 普通 and ふつう are どちらともいえない; nothing else is accepted (no
やや満足, no 非常に満足): such an answer is ``unrecognised``. Blank, 無回答,
未回答 and 該当なし are non-responses.
"""

from __future__ import annotations

import re
from typing import Any

from pilots.tabular import as_text
from pilots.text import normalize_name

SCALE: tuple[str, ...] = ("大変満足", "満足", "どちらともいえない", "不満", "大変不満")
"""The 5-point scale, best first (SPEC §5)."""
SATISFIED: tuple[str, ...] = ("大変満足", "満足")
"""The top-2 box: the answers that count as satisfied."""
_ALIASES = {"普通": "どちらともいえない", "ふつう": "どちらともいえない"}
NON_RESPONSES: tuple[str, ...] = ("無回答", "未回答", "該当なし")
"""Answers that are not answers (blank cells are non-responses too)."""

VALID, NON_RESPONSE, UNRECOGNISED = "valid", "non_response", "unrecognised"
"""How an answer is classed (stored as a response's ``status``)."""

# A choice number before the label: "1. 大変満足", "5:満足", "(2)不満", "①満足" (NFKC: "1").
_LEADING_NUMBER = re.compile(r"^(?:\(\d+\)|\d+)[.:)、,・\-]?")


def classify(value: Any) -> tuple[str, str | None]:
    """Classify one answer cell.

    Returns:
        ``("valid", label)`` with the scale label (普通 → どちらともいえない),
        ``("non_response", None)`` for blank, 無回答, 未回答, 該当なし, or
        ``("unrecognised", None)`` for anything else.
    """
    text = re.sub(r"\s+", "", normalize_name(as_text(value)))
    if text == "":
        return NON_RESPONSE, None
    for candidate in (text, _LEADING_NUMBER.sub("", text, count=1)):
        if candidate in SCALE:
            return VALID, candidate
        if candidate in _ALIASES:
            return VALID, _ALIASES[candidate]
        if candidate in NON_RESPONSES:
            return NON_RESPONSE, None
    return UNRECOGNISED, None

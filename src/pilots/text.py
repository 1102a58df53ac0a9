"""Normalising names the way every import compares them (Unicode NFKC, trimmed)."""

from __future__ import annotations

import unicodedata


def normalize_name(value: str) -> str:
    """Return the comparison key of a department, scenario or answer text.

    The rule (SPEC §4, issue 2): Unicode NFKC, then leading and trailing
    whitespace removed. NFKC turns full-width letters and digits and the
    ideographic space (U+3000) into their ordinary forms, so ``"ＲＰＡ推進課　"``
    and ``"RPA推進課"`` compare equal.
    """
    return unicodedata.normalize("NFKC", value).strip()

"""Text rules shared by every part: comparing names (NFKC, trimmed), kanji, escaping Markdown."""

from __future__ import annotations

import re
import unicodedata


def normalize_name(value: str) -> str:
    """Return the comparison key of a department, scenario or answer text.

    The rule (SPEC §4, issue 2): Unicode NFKC, then leading and trailing
    whitespace removed. NFKC turns full-width letters and digits and the
    ideographic space (U+3000) into their ordinary forms, so ``"ＲＰＡ推進課　"``
    and ``"RPA推進課"`` compare equal.
    """
    return unicodedata.normalize("NFKC", value).strip()


def is_kanji(char: str) -> bool:
    """True for one CJK unified ideograph (the common block), 々 or 〆; False for ''."""
    return bool(char) and ("\u4e00" <= char <= "\u9fff" or char in "々〆")


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]|~])")
_MARKDOWN_ENTITY = re.compile(r"&(?=#?\w+;)")
_MARKDOWN_LINE_START = re.compile(r"^(\s*)(?:([#+=-])|(\d+)([.)]))")


def markdown_escape(value: object) -> str:
    """User text as Markdown that shows it literally, on one line (drafts and reports alike).

    The characters that change inline layout (emphasis, links, code, tables)
    are backslash-escaped, ``<`` and ``>`` become entities (renderers pass raw
    HTML through), an entity-like ``&`` is escaped, line breaks become spaces
    (a table cell or a list item is one line), and a block marker at the start
    (``#``, ``-``, ``1.``) is escaped. Everything else stays as typed, so the
    source is still readable in a text editor.
    """
    text = "" if value is None else str(value)
    text = " ".join(text.replace("\r\n", "\n").split("\n"))
    text = _MARKDOWN_INLINE.sub(r"\\\1", text)
    text = _MARKDOWN_ENTITY.sub(r"\\&", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else f"{m.group(3)}\\{m.group(4)}"),
        text,
    )

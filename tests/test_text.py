"""One Markdown escape for the drafts and the reports."""

from __future__ import annotations

import pytest

from pilots.text import markdown_escape, normalize_name


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("予算は*未定*です", r"予算は\*未定\*です"),
        ("[資料1](http://x)", r"\[資料1\](http://x)"),
        ("<script>", "&lt;script&gt;"),
        ("a_b|c`d", r"a\_b\|c\`d"),
        ("# 見出し", r"\# 見出し"),
        ("- 箇条書き", r"\- 箇条書き"),
        ("1. 議題", r"1\. 議題"),
        ("R&D &amp;", r"R&D \&amp;"),
        ("一行目\r\n二行目\n三行目", "一行目 二行目 三行目"),  # a table cell stays one line
        ("令和元年5月1日（第3会議室）", "令和元年5月1日（第3会議室）"),
        (None, ""),
    ],
)
def test_markdown_escape(text: str | None, escaped: str) -> None:
    assert markdown_escape(text) == escaped


def test_names_compare_after_nfkc_and_trimming() -> None:
    assert normalize_name("ＲＰＡ推進課　") == "RPA推進課"

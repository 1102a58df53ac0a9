"""The meeting's handouts (会議資料): their terms, as glossary entries for one draft.

A clerk may attach the agenda or handouts to a job (``pilots asr transcribe
--materials FILE…``, the upload form's 会議資料 field). Their text is read —
docx (paragraphs and tables, python-docx), xlsx (every cell, openpyxl), pdf
(the text layer, pypdf; a scanned PDF has none and gives no terms), txt
(UTF-8 or CP932) — and the analyser (fugashi with unidic-lite) picks the terms:

* noun compounds (県央保健所, 個別施設計画: nouns, prefixes and noun suffixes in a row),
* proper nouns, katakana words of three characters or more, Latin words (LGWAN, WinActor),
* then single kanji nouns of two characters or more (更改, 府域).

Numerals break a compound and are never a term. Terms are ranked by kind (the
first three kinds first), then how often they occur, then length; the first
``limit`` become :class:`GlossaryTerm`\\ s with the analyser's reading. They are
used for this draft only, with the glossary and by the second pass
(:mod:`pilots.asr.improve`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pilots.asr.glossary import GlossaryTerm, tagger, to_katakana
from pilots.errors import InputFileError
from pilots.tabular import read_text

MATERIAL_SUFFIXES = (".docx", ".xlsx", ".pdf", ".txt")
_NOUN_PARTS = {("名詞", "普通名詞"), ("名詞", "固有名詞"), ("接頭辞", "*"), ("接尾辞", "名詞的")}
_KATAKANA = re.compile(r"[\u30a0-\u30ff]{3,}")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_KANJI_WORD = re.compile(r"[\u4e00-\u9fff々]{2,}")


def read_material(path: Path) -> str:
    """The text of one handout.

    Raises:
        InputFileError: the file is missing, of another kind, or cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix not in MATERIAL_SUFFIXES:
        raise InputFileError(path, "会議資料は docx, xlsx, pdf, txt のいずれかにしてください")
    if suffix == ".txt":
        return read_text(path, "会議資料")
    if not path.is_file():
        raise InputFileError(path, "会議資料が見つかりません")
    try:
        if suffix == ".docx":
            return _docx_text(path)
        if suffix == ".xlsx":
            return _xlsx_text(path)
        return _pdf_text(path)
    except Exception as exc:  # each reader raises its own kinds on a damaged file
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(path, f"会議資料を読めません（{first}）") from None


def _docx_text(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def _xlsx_text(path: Path) -> str:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if isinstance(value, str)
        )
    finally:
        book.close()


def _pdf_text(path: Path) -> str:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def extract_terms(text: str, limit: int) -> list[GlossaryTerm]:
    """The handout's terms, ranked and capped at ``limit`` (see the module's docstring)."""
    counts: Counter[str] = Counter()
    readings: dict[str, str] = {}
    strong: set[str] = set()
    for line in unicodedata.normalize("NFKC", text).splitlines():
        for surface, reading, proper in _candidates(tagger()(line)):
            counts[surface] += 1
            readings.setdefault(surface, reading)
            if proper or _KATAKANA.fullmatch(surface) or _LATIN.fullmatch(surface):
                strong.add(surface)
    ranked = sorted(counts, key=lambda s: (s not in strong, -counts[s], -len(s), s))
    return [GlossaryTerm(s, readings[s]) for s in ranked[:limit]]


def _candidates(words: Iterable[Any]) -> Iterable[tuple[str, str, bool]]:
    """(surface, reading, proper noun or compound) of each term candidate in a line."""
    run: list[Any] = []
    for word in [*words, None]:
        feature = word.feature if word is not None else None
        if feature is not None and (feature.pos1, feature.pos2) in _NOUN_PARTS:
            run.append(word)
            continue
        if run:
            yield from _from_run(run)
        run = []


def _from_run(run: Sequence[Any]) -> Iterable[tuple[str, str, bool]]:
    while run and run[0].feature.pos1 == "接尾辞":
        run = run[1:]
    while run and run[-1].feature.pos1 == "接頭辞":
        run = run[:-1]
    if not run:
        return
    surface = "".join(w.surface for w in run)
    kana = [_kana(w) for w in run]
    reading = "" if "" in kana else "".join(kana)  # a Latin part: the glossary reads it
    if len(run) > 1 and len(surface) >= 3:
        yield surface, reading, True
        for word in run:  # LGWAN経由: LGWAN is a term of its own too
            if _LATIN.fullmatch(word.surface) or _KATAKANA.fullmatch(word.surface):
                yield word.surface, _kana(word), False
    elif len(run) == 1:
        word = run[0]
        if word.feature.pos2 == "固有名詞" and len(surface) >= 2:
            yield surface, reading, True
        elif (
            _KATAKANA.fullmatch(surface)
            or _LATIN.fullmatch(surface)
            or _KANJI_WORD.fullmatch(surface)
        ):
            yield surface, reading, False


def _kana(word: Any) -> str:
    kana = getattr(word.feature, "kana", None)
    if not kana or kana == "*":
        return "" if not _KATAKANA.fullmatch(word.surface) else word.surface
    return to_katakana(str(kana))


def material_terms(paths: Sequence[Path], limit: int) -> list[GlossaryTerm]:
    """The terms of all the handouts of a job, ranked together and capped at ``limit``.

    Raises:
        InputFileError: a handout cannot be read (named).
    """
    if not paths:
        return []
    text = "\n".join(read_material(path) for path in paths)
    return extract_terms(text, limit)


def join_terms(terms: Sequence[GlossaryTerm], extra: Sequence[GlossaryTerm]) -> list[GlossaryTerm]:
    """The glossary's terms, then those of ``extra`` that stand on their own.

    An extra term already in the glossary, part of a longer term of either list
    (システム of 財務会計システム, 入札 of 一般競争入札), or holding another
    term (財務会計システム入力作業, 庁内LAN端末) is left out: the glossary
    correction compares readings, and on the samples such nested terms made it
    rewrite the words around them (財務会計システムへの入力作業 →
    財務会計システム入力作業, 情報セキュリティポリシー with ポリシー as a term).
    """
    surfaces = [term.surface for term in (*terms, *extra)]
    joined = list(terms)
    seen = {term.surface for term in terms}
    for term in extra:
        nested = any(
            other != term.surface and (term.surface in other or other in term.surface)
            for other in surfaces
        )
        if term.surface in seen or nested:
            continue
        seen.add(term.surface)
        joined.append(term)
    return joined

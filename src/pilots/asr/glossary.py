"""The department's glossary (用語集): reading it, and correcting misheard terms with it.

pilots never feeds the glossary to Whisper (as hotwords or prompt it was
measured to ruin transcripts); :meth:`Glossary.apply` corrects the text
afterwards, by comparing readings, and only where the evidence is strong.
The readings come from a morphological analyser (fugashi with unidic-lite)
and the similarity from rapidfuzz, both imported on first use.
"""

from __future__ import annotations

import importlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pilots.errors import InputFileError
from pilots.tabular import read_text
from pilots.text import is_kanji

# Marks the model (or our punctuation) may have put inside a term: 地域、放課、支援センター.
_SKIPPABLE = frozenset("、 ・,")
_VOICING = {0x3099: None, 0x309A: None}
# A short term (six kana or fewer) is a near span's term only from this reading similarity.
_SHORT_ALIKE = 80.0
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶヂヅヲヴ", "アイウエオツヤユヨワカケジズオブ")


def to_katakana(text: str) -> str:
    """Hiragana to katakana; everything else unchanged."""
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


@lru_cache(maxsize=8192)
def _reading_key(reading: str) -> str:
    """A reading in the form readings are compared in.

    Small kana count as large ones, ヂヅヲ as ジズオ and voiced kana as unvoiced,
    because the analyser reads a lone 決 as ケツ where the word 決裁 has ケッ, and
    所 as ショ where 保健所 has ジョ; Latin letters are upper-cased.
    """
    kana = to_katakana(unicodedata.normalize("NFKC", reading)).translate(_SMALL_KANA).upper()
    # Voicing changes inside compounds (保健所 ホケンジョ, read alone 所 ショ): compare unvoiced.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", kana).translate(_VOICING))


@dataclass(frozen=True)
class GlossaryTerm:
    """One entry of a glossary (用語集).

    Attributes:
        surface: how the term is written (表記), e.g. ``電子決裁``.
        reading: its reading in katakana (よみ), e.g. ``デンシケッサイ``; '' if not given.
    """

    surface: str
    reading: str = ""


@dataclass(frozen=True)
class NearSpan:
    """A part of a segment that may be a glossary term misheard (:meth:`Glossary.near_spans`).

    Attributes:
        start: where the span starts in the segment's text.
        end: where it ends (exclusive).
        term: the term it may be.
        alike: how alike its reading is to the term's (0–1, 1: the same).
    """

    start: int
    end: int
    term: GlossaryTerm
    alike: float


@dataclass(frozen=True)
class _Token:
    start: int  # in the skeleton
    end: int
    surface: str
    reading: str  # compared form
    known: bool  # a word of the analyser's dictionary


@dataclass(frozen=True)
class _Alignment:
    dest_start: int  # in the reading
    dest_end: int


@dataclass(frozen=True)
class _Candidate:
    start: int  # in the skeleton
    end: int
    score: float


class Glossary:
    """The department's proper nouns and jargon, used to correct misheard terms.

    pilots never feeds the glossary to Whisper (as hotwords or prompt it was
    measured to ruin transcripts); it corrects the text afterwards, and only
    where the evidence is strong, so that a glossary never makes a transcript
    worse:

    * a span is replaced when its reading equals a term's reading (電子決済 →
      電子決裁, ウィンアクター → WinActor) and the term's reading has at least
      four kana, or — for readings of seven kana or more — when it differs in
      at most about one kana in seven and shares a character with the term
      (会計年度人要職員 → 会計年度任用職員), or — for terms of six characters
      or more — when it is written nearly like the term, same first and last
      character, and its reading is 80 % alike (地域豊発支援センター →
      地域包括支援センター, but not 地域活動支援センター);
    * a span that equals a term, or lies inside one, is never touched, and a
      span that is one ordinary dictionary word (協力 vs 橋梁) is replaced only
      on an exact reading of five kana or more;
    * 、 and spaces the model put inside a term are absorbed (庁内、LAN → 庁内LAN).

    Attributes:
        terms: the entries, in file order.
    """

    def __init__(self, terms: Iterable[GlossaryTerm]) -> None:
        self.terms: list[GlossaryTerm] = list(terms)
        self._prepared: list[tuple[GlossaryTerm, str, str]] | None = None
        self._keys: list[str] = []
        self._surface_of: dict[str, str] = {}
        self._exact_pattern: re.Pattern[str] = re.compile("(?!)")

    @classmethod
    def load(cls, path: str | Path) -> Glossary:
        """Read a glossary file: ``表記<TAB>よみ`` a line, よみ optional.

        Lines starting with ``#`` and blank lines are skipped. The file may be
        UTF-8 (with or without BOM) or Shift_JIS (CP932), as Excel saves it.

        Args:
            path: the TSV file.

        Returns:
            The glossary.

        Raises:
            InputFileError: the file cannot be read or decoded, or a line has
                more than two columns, an empty 表記, or a よみ that is not kana;
                the error names the line.
        """
        file = Path(path)
        text = read_text(file, "用語集")
        terms: list[GlossaryTerm] = []
        seen: set[str] = set()
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            cells = [c.strip() for c in line.rstrip("\r\n").split("\t")]
            while len(cells) > 1 and not cells[-1]:
                cells.pop()
            if len(cells) > 2:
                raise InputFileError(
                    file, "列が多すぎます（「表記<タブ>よみ」の2列まで）", line=number
                )
            surface = unicodedata.normalize("NFKC", cells[0]).strip()
            if not surface:
                raise InputFileError(file, "表記が空です", line=number)
            reading = cells[1] if len(cells) == 2 else ""
            reading = to_katakana(unicodedata.normalize("NFKC", reading)).replace(" ", "")
            if reading and not re.fullmatch(r"[\u30a0-\u30ffA-Za-z0-9]+", reading):
                raise InputFileError(
                    file, f"よみ「{cells[1]}」はひらがなかカタカナで書いてください", line=number
                )
            if surface in seen:
                continue
            seen.add(surface)
            terms.append(GlossaryTerm(surface, reading))
        return cls(terms)

    def apply(self, text: str) -> tuple[str, int]:
        """Correct misheard glossary terms in one segment's text.

        Args:
            text: punctuated text (the output of the other steps).

        Returns:
            The corrected text and the number of replacements made.
        """
        if not self.terms or not text:
            return text, 0
        skeleton, origin = _skeleton(text)
        if not skeleton:
            return text, 0
        prepared = self._prepare()
        # Terms already present, longest first (a shorter term inside a longer one is part of it).
        exact = [
            (m.start(), m.end(), self._surface_of[m.group(0)])
            for m in self._exact_pattern.finditer(skeleton)
        ]
        taken = [(s, e) for s, e, _ in exact]
        tokens = _tokens(skeleton)
        reading, offsets = _reading_map(tokens)
        fuzz, process, _ = _rapidfuzz()
        # One C call scores every term against the segment; only close ones are searched.
        hits = process.extract(
            reading, self._keys, scorer=fuzz.partial_ratio, score_cutoff=70, limit=None
        )
        replacements: list[tuple[int, int, str]] = []
        for index in sorted(hit[2] for hit in hits):
            term, key, skel_surface = prepared[index]
            for candidate in _find(term, key, skel_surface, skeleton, tokens, reading, offsets):
                inner = {
                    (start, end)
                    for start, end, surface in exact
                    if _part_of(term, candidate.start, candidate.end, start, end, surface)
                }
                if any(
                    candidate.start < end and start < candidate.end
                    for start, end in taken
                    if (start, end) not in inner
                ):
                    continue
                if inner:
                    exact = [x for x in exact if x[:2] not in inner]
                    taken = [span for span in taken if span not in inner]
                taken.append((candidate.start, candidate.end))
                replacements.append((candidate.start, candidate.end, term.surface))
        # A term present but split by 、 or spaces (庁内、LAN) is written whole again.
        replacements.extend(exact)
        out = text
        count = 0
        for start, end, surface in sorted(replacements, reverse=True):
            begin, finish = origin[start], origin[end - 1] + 1
            if out[begin:finish] == surface:
                continue
            out = out[:begin] + surface + out[finish:]
            count += 1
        return out, count

    def near_spans(self, text: str, *, min_score: float, limit: int) -> list[NearSpan]:
        """Where a segment probably holds a term misheard: spans whose reading is near a term's.

        The reading of ``text`` is compared with each term's (rapidfuzz's
        ``partial_ratio``, 0–100, terms of four kana or more, at least
        ``min_score``); a term already written in the text is left out. For each
        such term, the spans of ``text`` at word boundaries around the best
        matching part of the reading, their reading within two kana of the
        term's length and as alike (``1 − Levenshtein distance / length`` of
        the readings, at least ``min_score`` / 100, and 0.8 for a term read in
        six kana or fewer: two kana off in a short word make another word,
        設定 for 日程), are the candidates, the
        most alike first (at most three a term); a span over another term of
        the glossary is never one, unless that term is part of this one (システム
        in 財務開計システム). No other check: the second pass lets the model judge them
        (:mod:`pilots.asr.improve`). Terms best first, at most ``limit`` terms.
        """
        if not self.terms or not text:
            return []
        skeleton, origin = _skeleton(text)
        if not skeleton:
            return []
        prepared = self._prepare()
        reading, offsets = _reading_map(_tokens(skeleton))
        present = [
            (m.start(), m.end(), self._surface_of[m.group(0)])
            for m in self._exact_pattern.finditer(skeleton)
        ]
        fuzz, process, levenshtein = _rapidfuzz()
        hits = process.extract(
            reading, self._keys, scorer=fuzz.partial_ratio, score_cutoff=min_score, limit=None
        )
        found: list[NearSpan] = []
        terms: list[GlossaryTerm] = []
        for _key, _score, index in sorted(hits, key=lambda hit: (-hit[1], hit[2])):
            term, key, skel_surface = prepared[index]
            if skel_surface in skeleton or term in terms:
                continue
            at = fuzz.partial_ratio_alignment(key, reading)
            size = len(key)
            spans: dict[tuple[int, int], float] = {}
            for r_start in (p for p in offsets if abs(p - at.dest_start) <= 2):
                for r_end in (p for p in offsets if abs(p - at.dest_end) <= 2):
                    first, last = offsets[r_start], offsets[r_end]
                    if not size - 2 <= r_end - r_start <= size + 2 or any(
                        first < end
                        and start < last
                        and not _part_of(term, first, last, start, end, surface)
                        for start, end, surface in present
                    ):
                        continue  # another term written there is not replaced (but its part is)
                    alike = 1 - levenshtein.distance(key, reading[r_start:r_end]) / max(
                        size, r_end - r_start
                    )
                    if alike * 100 < (max(min_score, _SHORT_ALIKE) if size <= 6 else min_score):
                        continue
                    begin, finish = origin[first], origin[last - 1] + 1
                    spans[(begin, finish)] = max(alike, spans.get((begin, finish), 0.0))
            best = sorted(spans.items(), key=lambda item: (-item[1], item[0]))[:3]
            if not best:
                continue
            terms.append(term)
            found += [NearSpan(begin, finish, term, alike) for (begin, finish), alike in best]
            if len(terms) >= limit:
                break
        return found

    def _prepare(self) -> list[tuple[GlossaryTerm, str, str]]:
        """Terms with their comparison reading and skeleton, longest reading first."""
        if self._prepared is None:
            items: list[tuple[GlossaryTerm, str, str]] = []
            for term in self.terms:
                skel = _skeleton(term.surface)[0]
                reading = term.reading or _surface_reading(skel)
                items.append((term, _reading_key(reading), skel))
            items.sort(key=lambda item: (len(item[1]), len(item[2])), reverse=True)
            self._prepared = items
            self._keys = [key if len(key) >= 4 else "\0" for _, key, _ in items]
            self._surface_of = {skel: term.surface for term, _, skel in reversed(items)}
            by_length = sorted(self._surface_of, key=len, reverse=True)
            self._exact_pattern = re.compile("|".join(re.escape(x) for x in by_length))
        return self._prepared


def _part_of(term: GlossaryTerm, first: int, last: int, start: int, end: int, surface: str) -> bool:
    """Whether the term ``surface``, written at ``start``–``end``, lies within the span
    ``first``–``last`` where ``term`` is to be written, and is a part of ``term``
    (システム in 財務開計システム → 財務会計システム): then it gives way to ``term``."""
    return first <= start and end <= last and surface in term.surface


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The text without 、/spaces/・ and, for each kept character, its index in ``text``."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in _SKIPPABLE:
            continue
        chars.append(char)
        origin.append(index)
    return "".join(chars), origin


@lru_cache(maxsize=1)
def _rapidfuzz() -> tuple[Any, Any, Any]:
    """rapidfuzz's fuzz, process and Levenshtein, imported on first use."""
    fuzz = importlib.import_module("rapidfuzz.fuzz")
    process = importlib.import_module("rapidfuzz.process")
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    return fuzz, process, levenshtein


_taggers = threading.local()


def tagger() -> Any:
    """This thread's MeCab tagger: a tagger parses into memory of its own, so threads that
    share one (a worker's jobs at once) get each other's words."""
    tagger = getattr(_taggers, "tagger", None)
    if tagger is None:
        # Imported here so that `pilots --help` and the CLI stay instant (STYLE habit 8).
        tagger = _taggers.tagger = importlib.import_module("fugashi").Tagger()
    return tagger


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for word in tagger()(text):
        surface: str = word.surface
        start = text.find(surface, position)
        if start < 0:  # the analyser never drops characters, but do not trust offsets blindly
            start = position
        end = start + len(surface)
        kana = getattr(word.feature, "kana", None)
        if not kana or kana == "*":
            kana = surface
        tokens.append(_Token(start, end, surface, _reading_key(kana), not word.is_unk))
        position = end
    return tokens


def _surface_reading(text: str) -> str:
    return "".join(token.reading for token in _tokens(text))


def _reading_map(tokens: Sequence[_Token]) -> tuple[str, dict[int, int]]:
    """The reading of the whole text, and a map from reading offsets to skeleton offsets.

    Offsets are mapped at token boundaries and, inside a token whose reading
    runs one to one with its surface (kana, Latin), at every character.
    """
    reading_parts: list[str] = []
    offsets: dict[int, int] = {}
    position = 0
    for token in tokens:
        offsets[position] = token.start
        if len(token.reading) == token.end - token.start and not _has_kanji(token.surface):
            for i in range(1, len(token.reading)):
                offsets[position + i] = token.start + i
        reading_parts.append(token.reading)
        position += len(token.reading)
        offsets[position] = token.end
    return "".join(reading_parts), offsets


def _has_kanji(text: str) -> bool:
    return any(is_kanji(c) for c in text)


def _find(
    term: GlossaryTerm,
    key: str,
    skel_surface: str,
    skeleton: str,
    tokens: Sequence[_Token],
    reading: str,
    offsets: dict[int, int],
) -> list[_Candidate]:
    """Spans of the skeleton that are a misheard form of ``term``."""
    fuzz, _, levenshtein = _rapidfuzz()
    size = len(key)
    if size < 4 or len(reading) < size - 1:
        return []
    exact_only = size < 7
    found: list[_Candidate] = []
    haystack = reading
    for _ in range(4):  # a term rarely occurs more than a few times in one segment
        if len(haystack) <= size:
            alignment = _Alignment(0, len(haystack))
        else:
            found_at = fuzz.partial_ratio_alignment(key, haystack, score_cutoff=70)
            if found_at is None:
                break
            alignment = _Alignment(found_at.dest_start, found_at.dest_end)
        best: _Candidate | None = None
        starts = [p for p in offsets if abs(p - alignment.dest_start) <= 3]
        ends = [p for p in offsets if abs(p - alignment.dest_end) <= 3]
        for r_start in starts:
            for r_end in ends:
                if r_end - r_start < size - 2 or r_end - r_start > size + 2:
                    continue
                distance = levenshtein.distance(key, reading[r_start:r_end])
                limit = 0 if exact_only else max(1, size // 7)
                score = 1 - distance / max(size, r_end - r_start)
                if distance > limit and not (
                    score >= 0.8
                    and _looks_alike(skeleton[offsets[r_start] : offsets[r_end]], skel_surface)
                ):
                    continue
                candidate = _Candidate(offsets[r_start], offsets[r_end], score)
                if best is None or candidate.score > best.score:
                    best = candidate
        if best is not None and _plausible(best, term, skel_surface, skeleton, tokens, size):
            found.append(best)
        # Blank out the searched region and look for another occurrence.
        masked = "\0" * (alignment.dest_end - alignment.dest_start)
        haystack = haystack[: alignment.dest_start] + masked + haystack[alignment.dest_end :]
        if len(reading) <= size:
            break
    return found


def _looks_alike(span: str, surface: str) -> bool:
    """A long term written with one kanji in five misheard: 地域豊発支援センター.

    The analyser reads a stray kanji alone by its kun reading (豊 ユタカ, not
    ホウ), so the reading alone cannot vouch for such a span; the written form
    must then be nearly the term's, with the same first and last character.
    """
    if len(surface) < 6 or not span or span[0] != surface[0] or span[-1] != surface[-1]:
        return False
    levenshtein = _rapidfuzz()[2]
    similarity: float = levenshtein.normalized_similarity(span, surface)
    return similarity >= 0.8


def _plausible(
    candidate: _Candidate,
    term: GlossaryTerm,
    skel_surface: str,
    skeleton: str,
    tokens: Sequence[_Token],
    size: int,
) -> bool:
    """The checks that keep a glossary from making a transcript worse."""
    span = skeleton[candidate.start : candidate.end]
    if not span or span == skel_surface:
        return False
    if sum("ぁ" <= c <= "ゖ" for c in span) * 2 > len(span):
        return False  # mostly hiragana: grammar words, not a misheard term
    inside = [t for t in tokens if candidate.start <= t.start and t.end <= candidate.end]
    if len(inside) == 1 and inside[0].known and _has_kanji(span):
        # One ordinary word of its own (協力, 専用): only a long exact reading replaces it.
        return candidate.score == 1.0 and size >= 5
    if candidate.score < 1.0:
        # A near reading must also look like the term: share a character with it.
        return bool(set(span) & set(skel_surface))
    return True

"""Uncertain words (不確かな語): where the model's own word probabilities say "check me".

faster-whisper times each word and gives its probability. A word below the
setting ``asr.uncertain_word_probability`` is marked in the editor (and, with
``asr.docx_word_marks``, in the Word draft), so that the clerk's eye goes there
first. The words belong to the model's raw text; the draft shows the text after
post-processing (spaces, 。、, numerals, fillers, glossary), so each word is
placed on the draft's text by aligning the two character by character
(:func:`word_spans`). ``make bench`` (``bench/bench_marks.py``) measures, on
the sample meetings, how many of the draft's real errors fall in marked words
at each threshold, and how many words are marked; the default comes from there.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass

from pilots.asr.result import Word

# Spaces and the punctuation post-processing adds are not part of a word.
_EDGES = " \u3000、。，,.！？!?"


@dataclass(frozen=True)
class WordSpan:
    """A timed word placed on the draft's text.

    Attributes:
        first: index of its first character in the utterance's text.
        end: index after its last character.
        start: seconds from the start of the recording to the word.
        probability: the model's probability of the word (0–1).
    """

    first: int
    end: int
    start: float
    probability: float


def word_spans(text: str, words: Sequence[Word]) -> list[WordSpan]:
    """Place the model's words on the post-processed ``text`` of their utterance.

    The words' raw text (joined) is aligned with ``text`` by character (their
    longest common subsequence); a word covers the characters it kept and those
    written in place of its own (a numeral, a glossary term): an inserted
    stretch goes to the word of the last character it replaces, else to the
    word before it. A word whose characters were all removed (a
    filler) has no span. Spans are in order and never overlap; spaces and
    punctuation at their edges are left out.
    """
    if not words or not text:
        return []
    owner: list[int] = []
    for index, word in enumerate(words):
        owner.extend([index] * len(word.text))
    raw = "".join(word.text for word in words)
    covered: list[list[int]] = [[] for _ in words]
    # Indel (longest common subsequence): a replaced stretch is a deletion beside an
    # insertion, so the characters written instead go to the word they replace.
    indel = importlib.import_module("rapidfuzz.distance").Indel
    opcodes = indel.opcodes(raw, text).as_list()
    for index, (tag, r1, r2, t1, t2) in enumerate(opcodes):
        if tag == "equal":
            for offset in range(r2 - r1):
                covered[owner[r1 + offset]].append(t1 + offset)
        elif tag == "insert" and owner:
            following = opcodes[index + 1] if index + 1 < len(opcodes) else None
            if following is not None and following[0] == "delete" and following[1] == r1:
                # Of the characters it replaces, the last one's word: a filler before the
                # replaced word is deleted too, and must not take the word's place.
                neighbour = owner[following[2] - 1]
            else:
                neighbour = owner[max(r1 - 1, 0)]
            covered[neighbour].extend(range(t1, t2))
    spans: list[WordSpan] = []
    reach = 0
    for word, places in zip(words, covered, strict=True):
        if not places:
            continue
        first, end = max(min(places), reach), max(places) + 1
        while first < end and text[first] in _EDGES:
            first += 1
        while end > first and text[end - 1] in _EDGES:
            end -= 1
        if first < end:
            spans.append(WordSpan(first, end, word.start, word.probability))
            reach = end
    return spans


def uncertain(spans: Sequence[WordSpan], threshold: float) -> list[WordSpan]:
    """The spans whose word the model gave a probability below ``threshold``."""
    return [span for span in spans if span.probability < threshold]

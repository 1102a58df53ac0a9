"""How close a transcript is to its reference: character error rate and sentence-end scores."""

from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass

# Punctuation and spacing are style, not recognition: CER ignores them on both sides.
_IGNORED = re.compile(r"[\s、。，,.？！?!]")
_CONTENT_SKIP = re.compile(r"[\s、。，,.？！?!・「」]")


def normalize_for_cer(text: str) -> str:
    """The characters CER compares: NFKC, without whitespace and 、。，,.？！?!."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", text).replace("?", "").replace("!", ""))


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate (文字誤り率) of a transcript against its reference.

    Levenshtein distance over characters divided by the reference length,
    after NFKC and after removing whitespace and the marks 、。，,.？！?! from
    both texts (punctuation is scored separately, see :func:`sentence_end_scores`).

    Args:
        hypothesis: the transcript to score.
        reference: the correct text.

    Returns:
        The rate (0.0 is perfect; it can exceed 1.0). An empty reference gives
        0.0 for an empty hypothesis and 1.0 otherwise.
    """
    hyp = normalize_for_cer(hypothesis)
    ref = normalize_for_cer(reference)
    if not ref:
        return 0.0 if not hyp else 1.0
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    distance: int = levenshtein.distance(hyp, ref)
    return distance / len(ref)


@dataclass(frozen=True)
class SentenceEndScores:
    """How well 。 are placed (句点の位置).

    Attributes:
        reference_ends: 。 in the reference.
        hypothesis_ends: 。 in the transcript.
        matched: 。 of the reference that the transcript has at the aligned place.
    """

    reference_ends: int
    hypothesis_ends: int
    matched: int

    @property
    def recall(self) -> float:
        """Share of the reference's sentence ends the transcript also ends with 。."""
        return self.matched / self.reference_ends if self.reference_ends else 1.0

    @property
    def precision(self) -> float:
        """Share of the transcript's 。 that stand where the reference has one."""
        return self.matched / self.hypothesis_ends if self.hypothesis_ends else 1.0


def _content_with_ends(text: str) -> tuple[str, set[int]]:
    """Content characters, and the indices of those followed by 。 (before the next one)."""
    chars: list[str] = []
    ends: set[int] = set()
    for char in unicodedata.normalize("NFKC", text):
        if char == "。" and chars:
            ends.add(len(chars) - 1)
        if _CONTENT_SKIP.match(char):
            continue
        chars.append(char)
    return "".join(chars), ends


def sentence_end_scores(hypothesis: str, reference: str) -> SentenceEndScores:
    """Compare the 。 of a transcript with the reference's after aligning their characters.

    Args:
        hypothesis: the transcript (segments joined).
        reference: the correct text.

    Returns:
        The counts; see :class:`SentenceEndScores` for recall and precision.
    """
    hyp, hyp_ends = _content_with_ends(hypothesis)
    ref, ref_ends = _content_with_ends(reference)
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    # ref index -> hyp index for characters the alignment keeps or substitutes.
    aligned: dict[int, int] = {}
    for tag, r1, r2, h1, _h2 in levenshtein.opcodes(ref, hyp).as_list():
        if tag in ("equal", "replace"):
            for offset in range(r2 - r1):
                aligned[r1 + offset] = h1 + offset
    # A 。 after the last character of a deleted or inserted run still counts
    # when the aligned neighbour ends a sentence: use the last aligned character.
    last = -1
    mapping: dict[int, int] = {}
    for index in range(len(ref)):
        last = aligned.get(index, last)
        mapping[index] = last
    matched = {mapping[index] for index in ref_ends if mapping.get(index, -1) in hyp_ends}
    return SentenceEndScores(len(ref_ends), len(hyp_ends), len(matched))

"""How close a transcript is to its reference: character error rate, edit counts, sentence ends.

The draft accuracy of SPEC §3 (認識精度) is computed here, per job: the draft
and the corrected text are compared character by character after
:func:`normalise_for_cer`, and the edits of an optimal alignment are counted
by kind (:class:`Accuracy`). The pooled rate of a period is
:mod:`pilots.asr.accuracy`'s.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass

_CONTENT_SKIP = re.compile(r"[\s、。，,.？！?!・「」]")
# The wave dash is written 〜 (U+301C, punctuation) or ～ (U+FF5E, NFKC ~, a math symbol)
# depending on the PC that typed it (the CP932 "wave dash problem"): both are punctuation here.
_WAVE_DASH = "~"
# Unicode files these under punctuation (Po), but a speaker says them as words (28% is
# 28パーセント): a draft that drops one has lost content.
_SPOKEN_MARKS = frozenset("%‰#&@")


def _ignored(char: str) -> bool:
    if char.isspace() or char == _WAVE_DASH:
        return True
    return unicodedata.category(char).startswith("P") and char not in _SPOKEN_MARKS


def normalise_for_cer(text: str) -> str:
    """The characters CER compares (SPEC §3): NFKC, without whitespace and punctuation.

    Punctuation is every character of Unicode general category P* after NFKC
    (、。，．・「」『』（）！？… and their ASCII forms), but for the marks a
    speaker reads as words (% ‰ # & @: 28% is 28パーセント), and plus the wave dash
    in both its forms (〜 and ～, see ``_WAVE_DASH``). The long-vowel mark ー is a
    letter (Lm) and symbols (S*: ＋ ￥ ℃ ○) carry meaning: they count.
    Whitespace is every character :meth:`str.isspace` accepts (spaces of any
    width, line ends, tabs).
    """
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not _ignored(c))


@dataclass(frozen=True)
class Accuracy:
    """How far a draft is from its corrected text (SPEC §3 draft accuracy, 認識精度).

    Counts are characters after :func:`normalise_for_cer`, from an optimal
    (minimum-edit) alignment of the draft to the corrected text, named as
    speech recognition names them, against the corrected text as reference:

    Attributes:
        characters: length of the corrected text (the denominator of the CER).
        substitutions: draft characters the clerk replaced by another (誤認識).
        insertions: draft characters the clerk deleted: the draft has them,
            the corrected text does not (湧き出し).
        deletions: characters of the corrected text the draft lacks: the
            clerk typed them in (脱落).
    """

    characters: int
    substitutions: int
    insertions: int
    deletions: int

    @property
    def edits(self) -> int:
        """The edit distance: substitutions + insertions + deletions."""
        return self.substitutions + self.insertions + self.deletions

    @property
    def cer(self) -> float | None:
        """Character error rate (文字誤り率) = edits / characters; None without characters."""
        return self.edits / self.characters if self.characters else None


def measure_accuracy(draft: str, corrected: str) -> Accuracy:
    """The edits that turn ``draft`` into ``corrected``, by kind (SPEC §3 ``cer(job)``).

    Both texts are normalised by :func:`normalise_for_cer` first, so a change
    of spacing, line breaks or punctuation alone is no edit.
    """
    hypothesis = normalise_for_cer(draft)
    reference = normalise_for_cer(corrected)
    levenshtein = importlib.import_module("rapidfuzz.distance").Levenshtein
    counts = {"replace": 0, "delete": 0, "insert": 0}
    for tag, _source, _dest in levenshtein.editops(hypothesis, reference):
        counts[tag] += 1
    # editops turns the draft into the corrected text: a character it deletes is one
    # the draft inserted, one it inserts is one the draft left out.
    return Accuracy(
        characters=len(reference),
        substitutions=counts["replace"],
        insertions=counts["delete"],
        deletions=counts["insert"],
    )


def cer(hypothesis: str, reference: str) -> float:
    """Character error rate (文字誤り率) of a transcript against its reference.

    Levenshtein distance over characters divided by the reference length,
    after :func:`normalise_for_cer` of both texts (punctuation is scored
    separately, see :func:`sentence_end_scores`).

    Args:
        hypothesis: the transcript to score.
        reference: the correct text.

    Returns:
        The rate (0.0 is perfect; it can exceed 1.0). An empty reference gives
        0.0 for an empty hypothesis and 1.0 otherwise.
    """
    accuracy = measure_accuracy(hypothesis, reference)
    if accuracy.cer is None:
        return 0.0 if accuracy.edits == 0 else 1.0
    return accuracy.cer


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

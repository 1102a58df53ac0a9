"""Uncertain-word marks: how many of the draft's real errors they catch; the cost of word timings.

On the three sample meetings (real base model, as ``pilots asr transcribe`` drafts them):

1. the transcription time with word timings (which every draft now has, for the marks)
   against the same transcription without them, in this run;
2. for thresholds 0.1 … 0.9, the share of the draft's real errors that fall in marked
   words, and the share of words marked. The draft and the reference are aligned by
   character after the CER normalisation (NFKC, no spaces or punctuation); an error is a
   draft character substituted or deleted relative to the reference, or a reference
   character the draft lacks (an insertion), counted at the draft character before it.
   Marking words at random catches errors in the share of words marked, so the default
   threshold is the one whose caught share exceeds its marked share the most, among those
   that mark at most a fifth of the words (marks that cover a third of the text no longer
   point anywhere); it is printed, with some of the errors it catches in the samples.
"""

from __future__ import annotations

import time
import unicodedata
from pathlib import Path

from bench.common import Comparison

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "data" / "samples").glob("*.flac"))
THRESHOLDS = [round(0.1 * k, 1) for k in range(1, 10)]
MAX_MARKED_SHARE = 0.2


def _draft_characters(transcript: object) -> tuple[str, list[int | None], list[float]]:
    """The draft's characters as CER compares them, each with its word (index) if any.

    Returns the characters, the word of each, and each word's probability.
    """
    from pilots.asr.marks import word_spans
    from pilots.asr.metrics import normalise_for_cer

    chars: list[str] = []
    owners: list[int | None] = []
    probabilities: list[float] = []
    for utterance in transcript.utterances:  # type: ignore[attr-defined]
        spans = word_spans(utterance.text, utterance.words)
        owner_at: dict[int, int] = {}
        for span in spans:
            for index in range(span.first, span.end):
                owner_at[index] = len(probabilities)
            probabilities.append(span.probability)
        for index, char in enumerate(utterance.text):
            for kept in normalise_for_cer(unicodedata.normalize("NFKC", char)):
                chars.append(kept)
                owners.append(owner_at.get(index))
    return "".join(chars), owners, probabilities


def _error_positions(draft: str, reference: str) -> list[int]:
    """Draft positions of the errors (one per substituted, deleted or missing character)."""
    from rapidfuzz.distance import Levenshtein

    positions: list[int] = []
    for op in Levenshtein.editops(draft, reference):
        tag, draft_pos = op.tag, op.src_pos
        if tag in ("replace", "delete"):
            positions.append(draft_pos)
        else:  # a reference character the draft lacks: the draft word before it
            positions.append(max(draft_pos - 1, 0))
    return positions


def run() -> list[Comparison]:
    """Transcribe the samples with and without word timings; print the marks' curve."""
    from pilots.asr.draft import DraftOptions, DraftPipeline, load_transcriber
    from pilots.asr.metrics import normalise_for_cer
    from pilots.asr.result import MeetingInfo
    from pilots.asr.transcribe import TranscribeOptions
    from pilots.config import Settings

    settings = Settings()
    model = load_transcriber(settings)
    pipeline = DraftPipeline(DraftOptions(), lambda: model)
    seconds = {True: 0.0, False: 0.0}
    transcripts = []
    for turn, sample in enumerate(SAMPLES):
        # Alternate which goes first: the second run of a file finds it in the page cache.
        for timed in (False, True) if turn % 2 else (True, False):
            started = time.perf_counter()
            heard = model.hear(sample, TranscribeOptions(word_timestamps=timed))
            transcript = heard.finish(pipeline.text, meeting=MeetingInfo())
            seconds[timed] += time.perf_counter() - started
            if timed:
                transcripts.append(transcript)
    caught = {t: 0 for t in THRESHOLDS}
    marked = {t: 0 for t in THRESHOLDS}
    errors = words = 0
    examples: dict[float, list[str]] = {t: [] for t in THRESHOLDS}
    for sample, transcript in zip(SAMPLES, transcripts, strict=True):
        draft, owners, probabilities = _draft_characters(transcript)
        reference = normalise_for_cer(sample.with_suffix(".txt").read_text(encoding="utf-8"))
        positions = _error_positions(draft, reference)
        errors += len(positions)
        words += len(probabilities)
        for threshold in THRESHOLDS:
            marked[threshold] += sum(1 for p in probabilities if p < threshold)
            for position in positions:
                owner = owners[position] if position < len(owners) else None
                if owner is not None and probabilities[owner] < threshold:
                    caught[threshold] += 1
                    where = [i for i, o in enumerate(owners) if o == owner]
                    word = (
                        draft[max(where[0] - 3, 0) : where[0]]
                        + f"【{draft[where[0] : where[-1] + 1]}】"
                        + draft[where[-1] + 1 : where[-1] + 4]
                    )
                    if word not in examples[threshold]:
                        examples[threshold].append(word)
    print(f"errors in the drafts: {errors} (of {len(SAMPLES)} samples), words: {words}")
    print("threshold  errors caught  words marked  lift (caught − marked)")
    best = THRESHOLDS[0]
    best_lift = float("-inf")
    for threshold in THRESHOLDS:
        caught_share = caught[threshold] / errors if errors else 0.0
        marked_share = marked[threshold] / words if words else 0.0
        lift = caught_share - marked_share
        if lift > best_lift and marked_share <= MAX_MARKED_SHARE:
            best, best_lift = threshold, lift
        print(
            f"  {threshold:.1f}      {caught_share:6.1%}        {marked_share:6.1%}"
            f"      {lift:+.3f}"
        )
    print(
        f"chosen default asr.uncertain_word_probability = {best:.1f} "
        f"(the highest lift marking at most {MAX_MARKED_SHARE:.0%} of the words); "
        f"marked words holding errors there: {' '.join(examples[best][:12])}",
        flush=True,
    )
    return [
        Comparison(
            f"transcribe {len(SAMPLES)} samples with word timings",
            seconds[True],
            "without word timings",
            seconds[False],
            note="same loaded model, beam 5, VAD; the marks need the timings",
        )
    ]

"""Better drafts from what the office knows: learned rules and a targeted second pass.

Two steps run on a transcript after the first pass and its text
post-processing (:mod:`pilots.asr.postprocess`), before the drafts are written
(:meth:`pilots.asr.draft.DraftPipeline.improve`):

1. **Learned rules** (:func:`apply_rules`): the substitutions a department's
   clerks made again and again in earlier drafts, once an admin approved them
   (:mod:`pilots.asr.rules`), replace the same text in the new draft.
2. **The second pass** (:func:`second_pass`): the segments whose reading is
   near a glossary term that they do not contain (:meth:`Glossary.near_terms`)
   are decoded again with those few terms as faster-whisper ``hotwords``. The
   new text is kept only under the acceptance rule of :func:`accept_redecode`:
   it holds the term, and outside the term it agrees with the first pass.

Feeding every glossary term to the model for the whole recording made drafts
much worse (issue 16); here the model hears at most a few terms, only on the
segments that probably hold them, and a re-decode that changes anything else
is thrown away. Every replacement is recorded (:class:`Improvement`: what,
where, why) in the transcript, its json and the job, and flags its utterance
(要確認) so that the clerk sees it in the editor and the draft.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pilots.asr.audio import SAMPLE_RATE, iter_chunks
from pilots.asr.glossary import Glossary, GlossaryTerm
from pilots.asr.metrics import normalise_for_cer
from pilots.asr.postprocess import TextPipeline
from pilots.asr.result import Flag, Improvement, Transcript, Utterance
from pilots.config import Settings

if TYPE_CHECKING:
    from pilots.asr.transcribe import Transcriber

SECOND_PASS = "second_pass"
RULE = "rule"
# Audio kept either side of a segment when it is decoded again (Whisper's segment ends are loose).
_PAD_SECONDS = 0.3


@dataclass(frozen=True)
class LearnedRule:
    """An approved substitution of a department (:mod:`pilots.asr.rules`).

    Attributes:
        id: the rule's number (``pilots asr rules list``).
        before: the draft's text the clerks replaced.
        after: what they wrote instead.
    """

    id: int
    before: str
    after: str


@dataclass(frozen=True)
class ImproveOptions:
    """Which improvement steps run, and their thresholds (the settings ``asr.second_pass…``).

    Attributes:
        second_pass: decode again the segments that probably hold a glossary term.
        similarity: the reading similarity (0–100) from which a segment is
            taken to hold a term (``asr.second_pass_similarity``).
        max_terms: at most this many terms are given to the model for one segment.
        max_outside_edits: the acceptance rule's limit: characters the new text
            may differ from the first pass outside the term.
        rules: the department's approved rules, applied before the second pass.
        materials_max_terms: at most this many terms are taken from the handouts.
    """

    second_pass: bool = False
    similarity: float = 80.0
    max_terms: int = 3
    max_outside_edits: int = 2
    rules: tuple[LearnedRule, ...] = field(default=())
    materials_max_terms: int = 30


def improve_options(settings: Settings, rules: Sequence[LearnedRule] = ()) -> ImproveOptions:
    """The improvement steps as the settings ask (rules only when ``asr.learned_rules`` is 1)."""
    return ImproveOptions(
        second_pass=settings.get("asr.second_pass"),
        similarity=settings.get("asr.second_pass_similarity"),
        max_terms=settings.get("asr.second_pass_max_terms"),
        max_outside_edits=settings.get("asr.second_pass_max_outside_edits"),
        rules=tuple(rules) if settings.get("asr.learned_rules") else (),
        materials_max_terms=settings.get("asr.materials_max_terms"),
    )


@dataclass(frozen=True)
class Accepted:
    """A re-decode kept by :func:`accept_redecode`.

    Attributes:
        before: the first pass's characters the term replaced (normalised).
        outside_edits: the edits outside the term (at most the limit).
    """

    before: str
    outside_edits: int


def accept_redecode(old: str, new: str, term: str, max_outside_edits: int) -> Accepted | None:
    """The acceptance rule of the second pass: keep ``new`` instead of ``old``?

    Both texts and the term are compared after :func:`normalise_for_cer` (NFKC,
    no spaces or punctuation). The new text is kept only when

    * it holds the term and the first pass did not, and
    * the rest agrees with the first pass: with the new text cut into
      *prefix* + term + *suffix*, the first pass can be cut into *P* + *X* +
      *S* with ``lev(prefix, P) + lev(suffix, S) ≤ max_outside_edits``, where
      *X*, what the term replaces, is not empty and at most twice the term's
      length plus two characters.

    A re-decode that also changes the words around the term (Whisper, prompted,
    rewrites a phrase or invents one) is therefore rejected.

    Returns:
        What was replaced and the edits outside it; None when ``new`` is rejected.
    """
    from rapidfuzz.distance import Levenshtein

    levenshtein_distance = Levenshtein.distance
    o, n, t = normalise_for_cer(old), normalise_for_cer(new), normalise_for_cer(term)
    if not t or t in o or t not in n:
        return None
    at = n.find(t)
    prefix, suffix = n[:at], n[at + len(t) :]
    head = [levenshtein_distance(prefix, o[:i]) for i in range(len(o) + 1)]
    tail = [levenshtein_distance(suffix, o[j:]) for j in range(len(o) + 1)]
    best: tuple[int, int, int] | None = None
    for i in range(len(o) + 1):
        for j in range(i + 1, min(len(o), i + 2 * len(t) + 2) + 1):
            cost = head[i] + tail[j]
            if best is None or cost < best[0]:
                best = (cost, i, j)
    if best is None or best[0] > max_outside_edits:
        return None
    return Accepted(o[best[1] : best[2]], best[0])


def apply_rules(transcript: Transcript, rules: Sequence[LearnedRule]) -> int:
    """Replace the text of approved rules in every utterance, recorded and flagged.

    Returns:
        The number of replacements.
    """
    count = 0
    for index, utt in enumerate(transcript.utterances):
        for rule in rules:
            if not rule.before or rule.before not in utt.text or rule.after in utt.text:
                continue
            times = utt.text.count(rule.before)
            utt.text = utt.text.replace(rule.before, rule.after)
            count += times
            reason = f"学習ルール#{rule.id}で「{rule.before}」を「{rule.after}」にしました"
            _record(transcript, index, utt, RULE, rule.before, rule.after, reason)
    return count


@dataclass(frozen=True)
class _Target:
    index: int
    terms: list[GlossaryTerm]


def second_pass(
    transcript: Transcript,
    transcriber: Transcriber,
    pipeline: TextPipeline,
    glossary: Glossary,
    options: ImproveOptions,
) -> int:
    """Decode again the segments near a glossary term; keep what the acceptance rule keeps.

    Args:
        transcript: the first pass, post-processed; changed in place.
        transcriber: the loaded model.
        pipeline: the text post-processing the first pass used.
        glossary: the terms (the glossary file, the handouts', the approved rules').
        options: thresholds.

    Returns:
        The number of segments replaced.
    """
    utterances = transcript.utterances
    targets: list[_Target] = []
    for index, utt in enumerate(utterances):
        terms = glossary.near_terms(utt.text, min_score=options.similarity, limit=options.max_terms)
        if terms:
            targets.append(_Target(index, terms))
    if not targets:
        return 0
    replaced = 0
    pending = list(targets)
    for chunk in iter_chunks(transcript.audio):
        chunk_end = chunk.offset + chunk.duration
        while pending and utterances[pending[0].index].start < chunk_end:
            target = pending.pop(0)
            utt = utterances[target.index]
            start = max(utt.start - _PAD_SECONDS, chunk.offset)
            end = min(utt.end + _PAD_SECONDS, chunk_end)
            piece = chunk.samples[
                int((start - chunk.offset) * SAMPLE_RATE) : int((end - chunk.offset) * SAMPLE_RATE)
            ]
            if len(piece) == 0:
                continue
            hotwords = " ".join(term.surface for term in target.terms)
            raw, words = transcriber.redecode(
                piece, start, language=transcript.language, hotwords=hotwords
            )
            following = (
                utterances[target.index + 1].raw_text
                if target.index + 1 < len(utterances)
                else None
            )
            text, _ = pipeline.process(raw, next_raw=following)
            for term in target.terms:
                accepted = accept_redecode(utt.text, text, term.surface, options.max_outside_edits)
                if accepted is None:
                    continue
                reason = (
                    f"第2パスで「{accepted.before}」を用語「{term.surface}」にしました"
                    f"（読みが近い語を再認識、前後の違い{accepted.outside_edits}文字）"
                )
                utt.text, utt.raw_text, utt.words = text, raw, words
                _record(
                    transcript,
                    target.index,
                    utt,
                    SECOND_PASS,
                    accepted.before,
                    term.surface,
                    reason,
                )
                replaced += 1
                break
    return replaced


def _record(
    transcript: Transcript,
    index: int,
    utt: Utterance,
    kind: str,
    before: str,
    after: str,
    reason: str,
) -> None:
    transcript.improvements.append(
        Improvement(kind, index, utt.start, utt.end, before, after, reason)
    )
    utt.flags.append(Flag(kind, reason))


def improve_transcript(
    transcript: Transcript,
    transcriber: Transcriber,
    pipeline: TextPipeline,
    glossary: Glossary | None,
    options: ImproveOptions,
    *,
    materials: int = 0,
) -> None:
    """Both steps as ``options`` ask; the steps that ran are named in ``transcript.steps``.

    ``materials`` is the number of the handouts' terms in the glossary (named too).
    """
    if materials:
        transcript.steps.append(f"会議資料の用語{materials}語")
    if options.rules:
        count = apply_rules(transcript, options.rules)
        transcript.steps.append(f"学習ルール{len(options.rules)}件（置換 {count}件）")
    if options.second_pass and glossary is not None and glossary.terms:
        started = time.perf_counter()
        count = second_pass(transcript, transcriber, pipeline, glossary, options)
        transcript.processing_seconds += time.perf_counter() - started
        transcript.steps.append(f"第2パス（置換 {count}件）")

"""Better drafts from what the office knows: learned rules and a targeted second pass.

Two steps run on a transcript after the first pass and its text
post-processing (:mod:`pilots.asr.postprocess`), before the drafts are written
(:meth:`pilots.asr.draft.DraftPipeline.improve`):

1. **Learned rules** (:func:`apply_rules`): the substitutions a department's
   clerks made again and again in earlier drafts, once an admin approved them
   (:mod:`pilots.asr.rules`), replace the same text in the new draft.
2. **The second pass** (:func:`second_pass`): the spans of a segment whose
   reading is near a glossary term (:meth:`Glossary.near_spans`, at least
   ``asr.second_pass_similarity`` alike) are checked with the model. Each
   candidate is the first pass's text with one span replaced by the term and
   nothing else changed; the model scores it and the first pass's text on the
   same audio by teacher forcing (:meth:`Transcriber.scorer`: the sum of the
   log-probabilities of the tokens of the text of the segments within one
   30-second window). **Acceptance rule** (:func:`accept`): the best candidate
   is kept when its log-likelihood is at least the first pass's less
   ``asr.second_pass_margin`` (natural-log units; the prior given to the
   department's word against the model's own choice).

Re-decoding with the terms as faster-whisper ``hotwords`` was tried first and
kept nothing on the samples (the base model did not write 橋梁 or 要介護認定
even when prompted), and feeding every glossary term to the model made drafts
much worse (issue 16); scoring fixed candidates lets the model judge the
glossary's proposal without writing anything itself, so the text outside the
term never changes. Every replacement is recorded (:class:`Improvement`: what,
where, and the two log-likelihoods as the reason) in the transcript, its json
and the job, and flags its utterance (要確認) so that the clerk sees it in the
editor and the draft.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pilots.asr.audio import SAMPLE_RATE, iter_chunks
from pilots.asr.glossary import Glossary, NearSpan
from pilots.asr.result import Flag, Improvement, Transcript, Utterance
from pilots.config import Settings
from pilots.errors import PilotsError

if TYPE_CHECKING:
    from pilots.asr.transcribe import SpeechModel, Transcriber

SECOND_PASS = "second_pass"
RULE = "rule"
# Audio kept either side of a segment when it is scored (Whisper's segment ends are loose).
_PAD_SECONDS = 0.3
# The model hears at most 30 seconds at once.
_MAX_SECONDS = 30.0


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
        second_pass: check with the model the spans that read near a glossary
            term (off here; the settings turn it on, ``asr.second_pass``).
        similarity: the reading similarity (0–100) from which a span is taken
            to be a term misheard (``asr.second_pass_similarity``).
        max_terms: at most this many terms are checked for one segment.
        margin: the acceptance rule's margin (:func:`accept`), natural-log units.
        rules: the department's approved rules, applied before the second pass.
        materials_max_terms: at most this many terms are taken from the handouts.
    """

    second_pass: bool = False
    similarity: float = 55.0
    max_terms: int = 3
    margin: float = 25.0
    rules: tuple[LearnedRule, ...] = field(default=())
    materials_max_terms: int = 30


def improve_options(settings: Settings, rules: Sequence[LearnedRule] = ()) -> ImproveOptions:
    """The improvement steps as the settings ask (rules only when ``asr.learned_rules`` is 1)."""
    return ImproveOptions(
        second_pass=settings.get("asr.second_pass"),
        similarity=settings.get("asr.second_pass_similarity"),
        max_terms=settings.get("asr.second_pass_max_terms"),
        margin=settings.get("asr.second_pass_margin"),
        rules=tuple(rules) if settings.get("asr.learned_rules") else (),
        materials_max_terms=settings.get("asr.materials_max_terms"),
    )


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
class Scored:
    """A candidate of the second pass and what the model said of it (:func:`best_candidate`).

    Attributes:
        text: the segment's text with the span replaced by the term.
        span: the span replaced.
        before: the model's log-likelihood of the first pass's text.
        after: its log-likelihood of ``text``.
    """

    text: str
    span: NearSpan
    before: float
    after: float

    @property
    def gain(self) -> float:
        """How much more likely the candidate is than the first pass (natural log)."""
        return self.after - self.before


def best_candidate(
    text: str, spans: Sequence[NearSpan], score: Callable[[Sequence[str]], list[float]]
) -> Scored | None:
    """The candidate the model finds most likely, from ``text`` and its near spans.

    Each candidate is ``text`` with one span replaced by its term, nothing else
    changed; ``score`` gives the model's log-likelihood of each text on the
    segment's audio (:meth:`Transcriber.scorer`).
    """
    candidates = [text[: span.start] + span.term.surface + text[span.end :] for span in spans]
    if not candidates:
        return None
    before, *after = score([text, *candidates])
    best = max(range(len(candidates)), key=lambda i: (after[i], -i))
    return Scored(candidates[best], spans[best], before, after[best])


def accept(scored: Scored, margin: float) -> bool:
    """The acceptance rule of the second pass: keep the candidate?

    Kept when the model's log-likelihood of the candidate on the segment's
    audio is at least its log-likelihood of the first pass less the margin:
    ``after ≥ before − margin``. The margin (``asr.second_pass_margin``, in
    natural-log units) is the weight the glossary's word gets against the
    model's own choice, the prior that the department's term was said; 0 keeps
    only candidates the model itself prefers.
    """
    return scored.gain >= -margin


def second_pass(
    transcript: Transcript, transcriber: Transcriber, glossary: Glossary, options: ImproveOptions
) -> int:
    """Check with the model the spans that may be a glossary term; keep what :func:`accept` keeps.

    For every segment with spans near a term (:meth:`Glossary.near_spans`), the
    candidates — the segment's text with one span replaced by the term — and
    the first pass's text are scored on the segment's audio by teacher forcing
    (:meth:`Transcriber.scorer`); the most likely candidate replaces the text if
    :func:`accept` keeps it, and the segment is searched again (at most
    ``options.max_terms`` terms a segment).

    Args:
        transcript: the first pass, post-processed; changed in place.
        transcriber: the loaded model.
        glossary: the terms (the glossary file, the handouts', the approved rules').
        options: thresholds.

    Returns:
        The number of replacements.
    """
    utterances = transcript.utterances
    targets = [
        index
        for index, utt in enumerate(utterances)
        if glossary.near_spans(utt.text, min_score=options.similarity, limit=options.max_terms)
    ]
    replaced = 0
    for chunk in iter_chunks(transcript.audio):
        if not targets:
            break  # nothing (left) to check: the rest of the recording is not decoded
        chunk_end = chunk.offset + chunk.duration
        while targets and utterances[targets[0]].start < chunk_end:
            # The targets within one 30-second window share one encoding of its audio.
            group = [targets.pop(0)]
            start = max(utterances[group[0]].start - _PAD_SECONDS, chunk.offset)
            limit = min(start + _MAX_SECONDS, chunk_end)
            while targets and utterances[targets[0]].end + _PAD_SECONDS <= limit:
                group.append(targets.pop(0))
            end = min(utterances[group[-1]].end + _PAD_SECONDS, limit)
            piece = chunk.samples[
                int((start - chunk.offset) * SAMPLE_RATE) : int((end - chunk.offset) * SAMPLE_RATE)
            ]
            if len(piece) > 0:
                window = transcriber.scorer(piece, language=transcript.language)
                for index in group:
                    replaced += _check(transcript, index, group, window, glossary, options)
    return replaced


def _check(
    transcript: Transcript,
    index: int,
    group: list[int],
    window: Callable[[Sequence[str]], list[float]],
    glossary: Glossary,
    options: ImproveOptions,
) -> int:
    """The second pass on one segment: its candidates scored as part of the window's text."""
    utterances = transcript.utterances
    utt = utterances[index]

    def score(texts: Sequence[str]) -> list[float]:
        head = "".join(u.text for u in utterances[group[0] : index])
        tail = "".join(u.text for u in utterances[index + 1 : group[-1] + 1])
        return window([head + text + tail for text in texts])

    replaced = 0
    for _ in range(options.max_terms):
        spans = glossary.near_spans(utt.text, min_score=options.similarity, limit=options.max_terms)
        scored = best_candidate(utt.text, spans, score)
        if scored is None or not accept(scored, options.margin):
            break
        before = utt.text[scored.span.start : scored.span.end]
        utt.text = scored.text
        reason = (
            f"第2パスで「{before}」を用語「{scored.span.term.surface}」にしました"
            f"（音声に照らした対数尤度 {scored.before:.1f} → {scored.after:.1f}、"
            f"差 {scored.gain:+.1f}、基準 −{options.margin:g}）"
        )
        _record(transcript, index, utt, SECOND_PASS, before, scored.span.term.surface, reason)
        replaced += 1
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


def _checked(
    transcriber: Transcriber, transcript: Transcript, glossary: Glossary, options: ImproveOptions
) -> tuple[list[Utterance], list[Improvement], int]:
    """:func:`second_pass` where the model is loaded: what it changed, and how many."""
    count = second_pass(transcript, transcriber, glossary, options)
    return list(transcript.utterances), list(transcript.improvements), count


def improve_transcript(
    transcript: Transcript,
    model: SpeechModel,
    glossary: Glossary | None,
    options: ImproveOptions,
    *,
    materials: int = 0,
) -> None:
    """Both steps as ``options`` ask; the steps that ran are named in ``transcript.steps``.

    ``materials`` is the number of the handouts' terms in the glossary (named too).
    The second pass runs where ``model`` is loaded: in this process, or in one of
    its model processes (:meth:`SpeechModel.call`).
    """
    if materials:
        transcript.steps.append(f"会議資料の用語{materials}語")
    if options.rules:
        count = apply_rules(transcript, options.rules)
        transcript.steps.append(f"学習ルール{len(options.rules)}件（置換 {count}件）")
    if options.second_pass and glossary is not None and glossary.terms:
        started = time.perf_counter()
        try:
            utterances, improvements, count = model.call(_checked, transcript, glossary, options)
        except PilotsError as exc:  # a model process ended: name the recording
            raise PilotsError(f"{transcript.audio}: {exc}") from exc
        transcript.utterances[:] = utterances
        transcript.improvements[:] = improvements
        transcript.processing_seconds += time.perf_counter() - started
        transcript.steps.append(f"第2パス（置換 {count}件）")

"""Better drafts (issue 16): CER per step on the samples, second-pass time, learned-rule precision.

All in this run, on this machine, on the three sample meetings. Each recording
is decoded once (beam 5, VAD, word timings, as ``pilots asr transcribe``); the
glossary is never fed to the model, so every step below starts from the same
raw segments and post-processes them as :class:`~pilots.asr.draft.DraftPipeline`
does:

1. ``none``: fillers, punctuation and numbers only, no glossary;
2. ``glossary``: with ``data/samples/glossary.tsv`` (today's correction);
3. ``+ second pass``: and the second pass (:func:`pilots.asr.improve.second_pass`,
   the default settings);
4. ``+ handouts``: the agenda ``data/samples/<stem>.agenda.txt`` adds its terms
   (:func:`pilots.asr.materials.material_terms`) to the glossary, then the second pass;
5. ``+ rules``: rules learned leave-one-out: the substitutions
   (:func:`pilots.asr.rules.substitutions`) between the other two samples'
   step-4 drafts and their reference texts, kept when the draft span was left
   unchanged at most ``asr.rules_max_unchanged_share`` of its occurrences
   (with two other meetings, a rule needs one of them, not
   ``asr.rules_min_jobs``), applied before the second pass.

CER is :func:`pilots.asr.metrics.cer` against ``<stem>.txt``; the weighted CER
weights each meeting by its reference length. A learned rule's replacement is
*confirmed* when this meeting's reference calls for that very substitution:
(before, after) is among :func:`~pilots.asr.rules.substitutions` between the
meeting's step-4 draft and its reference text (an ``after`` that merely occurs
somewhere in the reference does not count). The time
comparison is the second pass against the first pass of the same recordings.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import Comparison

if TYPE_CHECKING:
    from pilots.asr.glossary import Glossary
    from pilots.asr.result import Transcript

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "data" / "samples").glob("*.flac"))
GLOSSARY = ROOT / "data" / "samples" / "glossary.tsv"
STEPS = ("none", "glossary", "+ second pass", "+ handouts", "+ rules")


def _text(transcript: Transcript) -> str:
    return "\n".join(u.text for u in transcript.utterances)


def _reprocess(transcript: Transcript, glossary: Glossary) -> Transcript:
    """The transcript post-processed again from its raw segments, with ``glossary``."""
    from pilots.asr.postprocess import TextPipeline, load_fillers

    pipeline = TextPipeline(fillers=load_fillers(None), glossary=glossary)
    out = copy.deepcopy(transcript)
    utterances = out.utterances
    for i, utt in enumerate(utterances):
        following = utterances[i + 1].raw_text if i + 1 < len(utterances) else None
        utt.text, _ = pipeline.process(utt.raw_text, next_raw=following)
    out.utterances = [u for u in utterances if u.text.strip()]
    return out


def run() -> list[Comparison]:
    """Measure every step; print the CER table, return the time comparison."""
    import dataclasses

    from pilots.asr.draft import load_transcriber
    from pilots.asr.glossary import Glossary
    from pilots.asr.improve import LearnedRule, improve_options, improve_transcript
    from pilots.asr.materials import join_terms, material_terms
    from pilots.asr.metrics import cer, normalise_for_cer
    from pilots.asr.postprocess import TextPipeline, load_fillers
    from pilots.asr.rules import substitutions
    from pilots.asr.transcribe import TranscribeOptions
    from pilots.config import Settings

    settings = Settings()
    transcriber = load_transcriber(settings)
    glossary = Glossary.load(GLOSSARY)
    options = improve_options(settings)
    first_seconds = 0.0
    second_seconds = 0.0
    raw = {}
    for sample in SAMPLES:
        started = time.perf_counter()
        raw[sample.stem] = transcriber.hear(sample, TranscribeOptions(word_timestamps=True)).finish(
            TextPipeline(fillers=load_fillers(None), glossary=None)
        )
        first_seconds += time.perf_counter() - started
    references = {s.stem: s.with_suffix(".txt").read_text(encoding="utf-8") for s in SAMPLES}
    drafts: dict[str, dict[str, str]] = {step: {} for step in STEPS}
    with_handouts: dict[str, Glossary] = {}
    for sample in SAMPLES:
        stem = sample.stem
        drafts["none"][stem] = _text(raw[stem])
        drafts["glossary"][stem] = _text(_reprocess(raw[stem], glossary))
        second = _reprocess(raw[stem], glossary)
        started = time.perf_counter()
        improve_transcript(second, transcriber, glossary, options)
        second_seconds += time.perf_counter() - started
        drafts["+ second pass"][stem] = _text(second)
        terms = material_terms([sample.with_suffix(".agenda.txt")], options.materials_max_terms)
        with_handouts[stem] = Glossary(join_terms(glossary.terms, terms))
        handouts = _reprocess(raw[stem], with_handouts[stem])
        improve_transcript(handouts, transcriber, with_handouts[stem], options)
        drafts["+ handouts"][stem] = _text(handouts)
    applied = confirmed = 0
    max_unchanged = settings.get("asr.rules_max_unchanged_share")
    # Each meeting's step-4 draft aligned with its reference once: what the other meetings
    # teach this one, and what this one's reference calls for.
    found = {
        s.stem: substitutions(drafts["+ handouts"][s.stem], references[s.stem]) for s in SAMPLES
    }
    for sample in SAMPLES:
        stem = sample.stem
        changed: Counter[tuple[str, str]] = Counter()
        for other in SAMPLES:
            if other.stem != stem:
                for sub in found[other.stem]:
                    changed[(sub.before, sub.after)] += 1
        rules: list[LearnedRule] = []
        for (before, after), count in sorted(changed.items()):
            occurrences = sum(
                drafts["+ handouts"][o.stem].count(before) for o in SAMPLES if o.stem != stem
            )
            if max(occurrences - count, 0) / max(occurrences, 1) <= max_unchanged:
                rules.append(LearnedRule(len(rules) + 1, before, after))
        learned = _reprocess(raw[stem], with_handouts[stem])
        rule_options = dataclasses.replace(options, rules=tuple(rules))
        improve_transcript(learned, transcriber, with_handouts[stem], rule_options)
        drafts["+ rules"][stem] = _text(learned)
        wanted = {(sub.before, sub.after) for sub in found[stem]}
        for improvement in learned.improvements:
            if improvement.kind == "rule":
                applied += 1
                confirmed += (improvement.before, improvement.after) in wanted
        print(f"rules learned for {stem} from the other two: {len(rules)}", flush=True)
    lengths = {stem: len(normalise_for_cer(text)) for stem, text in references.items()}
    total = sum(lengths.values())
    print("CER per step (" + ", ".join(s.stem for s in SAMPLES) + ", weighted):", flush=True)
    rates_of = {
        step: {s.stem: cer(drafts[step][s.stem], references[s.stem]) for s in SAMPLES}
        for step in STEPS
    }
    weighted = {
        step: sum(rates[k] * lengths[k] for k in rates) / total for step, rates in rates_of.items()
    }
    for step in STEPS:
        rates = rates_of[step]
        worse = [k for k in rates if rates[k] > rates_of["glossary"][k] + 1e-9]
        print(
            f"  {step:14} "
            + "  ".join(f"{rates[s.stem]:.3f}" for s in SAMPLES)
            + f"  weighted {weighted[step]:.3f}"
            + f"  ({weighted[step] / weighted['glossary']:.2f}x glossary;"
            + f" worse than glossary: {', '.join(worse) or 'none'})",
            flush=True,
        )
    share = (
        f"{confirmed}/{applied} = {confirmed / applied:.2f}" if applied else "0/0 (none applied)"
    )
    print(f"learned rules: replacements confirmed by the reference {share}", flush=True)
    return [
        Comparison(
            f"asr second pass ({len(SAMPLES)} samples)",
            second_seconds,
            "first pass",
            first_seconds,
            note="glossary step's second pass vs decoding the same recordings; target ratio <= 0.3",
        )
    ]

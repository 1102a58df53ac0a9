"""Speakers on the words of a transcript: utterances split where the speaker changes, named.

:mod:`pilots.asr.speakers` finds a speaker for each 1.5 s window of speech; here each word
takes the speakers of its windows (:func:`word_labels`), an utterance whose words change
speaker is split there, each piece post-processed like a whole utterance, and the speakers
are numbered 話者1, 話者2 … in order of first appearance and named — by ``--speaker-names``
first, then by the reference recording whose voice is closest, from a threshold
(:func:`label_transcript`).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from pilots.asr.result import Speaker, Transcript, Utterance, Word
from pilots.asr.speakers import WINDOW_SECONDS, Diarization

LABEL = "話者{}"


def word_labels(utterances: Sequence[Utterance], found: Diarization) -> list[list[int]]:
    """The speaker of each word of each utterance (an utterance without words: one label).

    A word takes the majority label of the windows over its middle — ties go to the window
    whose centre is nearest, a word under no window to the nearest window — and a run of one
    word between two runs of the same speaker takes theirs (a stray window, not a turn).
    """
    order = sorted(range(len(found.windows)), key=lambda i: found.windows[i])
    starts = [found.windows[i][0] for i in order]
    ends = [found.windows[i][1] for i in order]
    labels = [found.labels[i] for i in order]
    centres = [(s + e) / 2 for s, e in zip(starts, ends, strict=True)]

    def label_at(middle: float) -> int:
        lo = bisect.bisect_left(starts, middle - WINDOW_SECONDS - 1e-6)
        hi = bisect.bisect_right(starts, middle)
        over = [i for i in range(lo, hi) if ends[i] >= middle]
        if not over:
            return labels[min(range(len(centres)), key=lambda i: abs(centres[i] - middle))]
        votes = Counter(labels[i] for i in over).most_common()
        tied = {label for label, n in votes if n == votes[0][1]}
        if len(tied) == 1:
            return votes[0][0]
        nearest = min(
            (i for i in over if labels[i] in tied), key=lambda i: abs(centres[i] - middle)
        )
        return labels[nearest]

    flat = [
        label_at((w.start + w.end) / 2)
        for u in utterances
        for w in (u.words or [Word(u.start, u.end, u.raw_text, 1.0)])
    ]
    for i in range(1, len(flat) - 1):
        if flat[i - 1] == flat[i + 1] != flat[i]:
            flat[i] = flat[i - 1]
    out = []
    pos = 0
    for u in utterances:
        n = max(len(u.words), 1)
        out.append(flat[pos : pos + n])
        pos += n
    return out


Process = Callable[..., tuple[str, int]]


def label_transcript(
    transcript: Transcript,
    found: Diarization,
    process: Process,
    *,
    names: Sequence[str] = (),
    threshold: float = 0.89,
) -> Transcript:
    """The transcript with a speaker on every utterance, split where the speaker changes.

    Args:
        transcript: the transcript, with word timings.
        found: the speakers of the windows (:func:`diarize`).
        process: the text post-processing of a piece of raw text
            (:meth:`pilots.asr.postprocess.TextPipeline.process`): a piece of an utterance
            gets its text, punctuation and glossary the way a whole one did.
        names: for 話者1, 話者2 … in order of first appearance (``--speaker-names``).
        threshold: the cosine similarity from which a reference recording names a speaker.
    """
    if not found.windows:
        return transcript
    utterances = transcript.utterances
    per_word = word_labels(utterances, found)
    pieces: list[tuple[Utterance, int]] = []
    replacements = transcript.glossary_replacements
    for i, (utterance, labels) in enumerate(zip(utterances, per_word, strict=True)):
        following = utterances[i + 1].raw_text if i + 1 < len(utterances) else None
        if len(set(labels)) == 1:
            pieces.append((utterance, labels[0]))
            continue
        replacements -= process(utterance.raw_text, next_raw=following)[1]
        runs: list[tuple[int, list[Word]]] = []
        for word, label in zip(utterance.words, labels, strict=True):
            if runs and runs[-1][0] == label:
                runs[-1][1].append(word)
            else:
                runs.append((label, [word]))
        for k, (label, words) in enumerate(runs):
            raw = "".join(w.text for w in words)
            after = "".join(w.text for w in runs[k + 1][1]) if k + 1 < len(runs) else following
            text, n = process(raw, next_raw=after)
            replacements += n
            if text.strip():
                start = utterance.start if k == 0 else words[0].start
                end = utterance.end if k == len(runs) - 1 else words[-1].end
                piece = replace(
                    utterance, start=start, end=end, text=text, raw_text=raw, words=words
                )
                pieces.append((piece, label))
    order = list(dict.fromkeys(label for _, label in pieces))
    speakers = _name_speakers(order, pieces, found.voices, names, threshold)
    shown = {label: speaker.name for label, speaker in zip(order, speakers, strict=True)}
    return replace(
        transcript,
        utterances=[replace(u, speaker=shown[label], flags=list(u.flags)) for u, label in pieces],
        speakers=speakers,
        glossary_replacements=replacements,
    )


def _name_speakers(
    order: list[int],
    pieces: list[tuple[Utterance, int]],
    voices: dict[str, list[float]],
    names: Sequence[str],
    threshold: float,
) -> list[Speaker]:
    """話者1, 話者2 … in order of first appearance; names given first, then matching voices."""
    given = {label: names[i] for i, label in enumerate(order) if i < len(names) and names[i]}
    # The closest pairs first, each voice and each speaker at most once.
    pairs = sorted(
        ((sims[label], voice, label) for voice, sims in voices.items() for label in order),
        reverse=True,
    )
    # Each speaker's closest reference voice, told in the json draft to help choose a threshold.
    closest = {k: max((sims[k], voice) for voice, sims in voices.items()) for k in order if voices}
    matched: dict[int, str] = {}
    used = set(given.values())
    for similarity, voice, label in pairs:
        if similarity < threshold or label in given or label in matched or voice in used:
            continue
        matched[label] = voice
        used.add(voice)
    seconds = dict.fromkeys(order, 0.0)
    for utterance, label in pieces:
        seconds[label] += utterance.end - utterance.start
    speakers = []
    for number, label in enumerate(order, start=1):
        text = LABEL.format(number)
        speakers.append(
            Speaker(
                label=text,
                name=given.get(label) or matched.get(label) or text,
                seconds=round(seconds[label], 2),
                voice=closest[label][1] if voices else "",
                similarity=closest[label][0] if voices else None,
            )
        )
    return speakers

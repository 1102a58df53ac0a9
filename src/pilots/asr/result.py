"""The results of transcribing one recording, as typed dataclasses.

A :class:`Transcript` is what every output format (docx, md, txt, srt, vtt,
json) is written from and what the job log records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Word:
    """A word with its timing (seconds from the start of the recording)."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Flag:
    """A reason to check an utterance first (要確認).

    Attributes:
        kind: ``repeat`` (looping n-grams), ``stock_phrase`` (a phrase Whisper
            invents, e.g. ご視聴ありがとうございました), ``silence`` (text over
            silence), ``low_logprob`` or ``compression`` (high compression ratio).
        reason: the Japanese explanation shown in the draft.
    """

    kind: str
    reason: str


@dataclass
class Utterance:
    """One paragraph of the draft: a speech segment after post-processing.

    Attributes:
        start: seconds from the start of the recording.
        end: seconds from the start of the recording.
        text: the text after spacing, numbers, fillers, punctuation and glossary.
        raw_text: the text exactly as the model gave it.
        words: word timings (filled only when requested, e.g. for JSON).
        avg_logprob: the model's average log-probability of the tokens.
        compression_ratio: gzip compression ratio of the text (high = repetitive).
        no_speech_prob: the model's probability that the window held no speech.
        flags: reasons for the clerk to check this utterance first.
        speaker: who speaks, as the draft shows it (話者1, or a name such as 議長);
            None when the speakers were not told apart.
    """

    start: float
    end: float
    text: str
    raw_text: str
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: list[Word] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    speaker: str | None = None


@dataclass(frozen=True)
class Speaker:
    """One voice told apart in the recording (話者).

    Attributes:
        label: 話者1, 話者2 … in the order in which they first speak.
        name: what the draft shows: the label, or the name given to it by
            ``--speaker-names`` or by a matching reference recording.
        seconds: the length of the utterances given to this speaker.
        voice: the reference recording closest to this voice (its name), when
            reference recordings were given; it named the speaker only if
            ``similarity`` reached the threshold.
        similarity: the cosine similarity to that recording.
    """

    label: str
    name: str
    seconds: float
    voice: str = ""
    similarity: float | None = None


@dataclass(frozen=True)
class Improvement:
    """A replacement made in the draft from what the office knows (asr/improve.py), recorded.

    Attributes:
        kind: ``second_pass`` (a glossary term the model found likely in place
            of a span of the first pass) or ``rule`` (a substitution learned from the
            department's corrections and approved).
        utterance: the utterance's index in the transcript.
        start: seconds from the start of the recording (the utterance's).
        end: seconds from the start of the recording.
        before: what the first pass had written there.
        after: what the draft has now.
        reason: why, in Japanese (shown in the editor and the draft as a 要確認 note).
    """

    kind: str
    utterance: int
    start: float
    end: float
    before: str
    after: str
    reason: str


@dataclass(frozen=True)
class MeetingInfo:
    """The header block of the minutes (会議名, 日時, 場所, 出席者, 所属)."""

    title: str = ""
    date: date | None = None
    place: str = ""
    attendees: str = ""
    department: str = ""


@dataclass
class Transcript:
    """Everything known about one transcribed recording.

    Attributes:
        audio: the recording.
        audio_sha256: SHA-256 of the recording's bytes (the job log's identity).
        duration: length of the recording in seconds.
        language: the language transcribed (``ja``).
        model: the model's name (``base``) or folder.
        processing_seconds: wall-clock time the transcription took.
        meeting: the header block.
        utterances: the body.
        fillers: ``remove`` or ``keep``.
        glossary_terms: how many glossary terms were in use.
        glossary_replacements: how many times a glossary term replaced model text.
        speakers: the voices told apart, in order of first appearance; empty when
            the speakers were not told apart.
        speaker_problem: why the speakers could not be told apart although they
            were asked for (the draft is then written without them); empty otherwise.
        improvements: the replacements of the second pass and the learned rules.
        steps: the improvement steps that ran, by their Japanese names (第2パス,
            資料の用語 n語, 学習ルール n件), for the draft's header and its json.
    """

    audio: Path
    audio_sha256: str
    duration: float
    language: str
    model: str
    processing_seconds: float = 0.0
    meeting: MeetingInfo = field(default_factory=MeetingInfo)
    utterances: list[Utterance] = field(default_factory=list)
    fillers: str = "remove"
    glossary_terms: int = 0
    glossary_replacements: int = 0
    speakers: list[Speaker] = field(default_factory=list)
    speaker_problem: str = ""
    improvements: list[Improvement] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @property
    def flag_count(self) -> int:
        """Number of flagged utterances (要確認箇所)."""
        return sum(1 for u in self.utterances if u.flags)

    @property
    def no_speech(self) -> bool:
        """Whether no speech was found at all (a silent recording): no utterance has text.

        Such a draft is flagged as such, and its job does not count as usage (SPEC §3).
        """
        return not any(u.text.strip() for u in self.utterances)


def format_timestamp(seconds: float, *, millis: bool = False, sep: str = ".") -> str:
    """Format seconds as hh:mm:ss (or hh:mm:ss.mmm / hh:mm:ss,mmm for subtitles)."""
    total_ms = round(max(seconds, 0.0) * 1000)
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}{sep}{ms:03d}" if millis else text


def format_duration(seconds: float) -> str:
    """Format seconds as ``h:mm:ss`` (録音時間, 処理時間): 90 → ``0:01:30``."""
    hours, rest = divmod(round(max(seconds, 0.0)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"

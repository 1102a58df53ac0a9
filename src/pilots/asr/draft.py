"""The drafting pipeline, written once: a recording → minutes drafts → the job record.

``pilots asr transcribe``, ``pilots demo`` and the web worker
(:mod:`pilots.web.worker`) all draft minutes through :class:`DraftPipeline`,
whose steps are its methods:

1. :meth:`~DraftPipeline.transcribe`: the speech model, then the Japanese text
   post-processing (fillers, glossary) that :class:`DraftOptions` asks for;
   :meth:`~DraftPipeline.label_speakers`: who speaks (話者1, 話者2 … or names),
   each utterance split where the speaker changes (:mod:`pilots.asr.speakers`);
2. :meth:`~DraftPipeline.write`: the drafts, every format or none
   (:func:`pilots.asr.minutes.write_outputs`);
3. :meth:`~DraftPipeline.record`: the job, for the time-saved measurement of
   SPEC §3 (:func:`pilots.asr.jobs.record_transcription`), unless the caller
   logs nothing (``--no-log``).

A draft never outlives a failed record: if recording the job fails or is
interrupted (Ctrl-C, SIGTERM), the transaction is rolled back and the drafts
just written are removed. Steps that change the transcript (speaker labels, a
second pass with the glossary) belong between 1 and 2.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pilots.asr.glossary import Glossary
from pilots.asr.jobs import JobRecord, record_transcription
from pilots.asr.minutes import write_outputs
from pilots.asr.postprocess import TextPipeline, load_fillers
from pilots.asr.result import MeetingInfo, Transcript
from pilots.asr.speaker_labels import label_transcript
from pilots.asr.speakers import (
    SpeakerStepFailed,
    Voice,
    diarize,
    load_voices,
    missing_parts,
    speaker_count,
)
from pilots.asr.transcribe import Progress, TranscribeOptions, Transcriber
from pilots.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DraftOptions:
    """How a recording becomes minutes drafts.

    Attributes:
        formats: the draft formats (some of :data:`pilots.asr.minutes.FORMATS`);
            ``json`` also times each word.
        language: the language code of the recording.
        fillers: ``remove`` (えー, あのー … deleted) or ``keep`` (verbatim, 逐語).
        fillers_file: the office's filler list (``PILOTS_FILLERS_FILE``); None
            for the list shipped with pilots.
        glossary: a glossary file (``表記<TAB>よみ``) to correct terms after
            recognition; None for none.
        template_dir: the office's own draft templates (``PILOTS_TEMPLATE_DIR``).
        speakers: ``auto`` (tell the speakers apart when the ``speakers`` extra is
            installed), ``off``, or a fixed number of speakers (``"3"``); a value
            checked by :func:`pilots.asr.speakers.check_speakers`.
        speaker_names: names for 話者1, 話者2 … in order of first appearance.
        speaker_voices: a folder of reference recordings named after people
            (``議長.wav``) that name the speakers whose voice matches.
        speaker_threshold: the cosine similarity from which a reference recording
            names a speaker (``PILOTS_ASR_SPEAKER_THRESHOLD``).
    """

    formats: tuple[str, ...] = ("docx",)
    language: str = "ja"
    fillers: str = "remove"
    fillers_file: Path | None = None
    glossary: Path | None = None
    template_dir: Path | None = None
    speakers: str = "auto"
    speaker_names: tuple[str, ...] = ()
    speaker_voices: Path | None = None
    speaker_threshold: float = 0.89


def _always(_session: Session) -> bool:
    return True


def _nothing(_session: Session, _job: JobRecord, _files: list[Path]) -> None:
    return None


@dataclass(frozen=True)
class JobLog:
    """Where the pipeline records a draft's job, in one transaction.

    Attributes:
        session: opens the transaction (committed at the end of the block).
        today: the meeting date of a job whose meeting has none; None for
            the day the job is recorded.
        held: asked first inside the transaction: may the job still be
            recorded? The web worker answers whether it still holds its queue
            job; False withdraws the draft (:class:`DraftWithdrawn`).
        store: called last inside the same transaction with the job and the
            drafts (the web worker hands the drafts to its queue there).
    """

    session: Callable[[], AbstractContextManager[Session]]
    today: date | None = None
    held: Callable[[Session], bool] = _always
    store: Callable[[Session, JobRecord, list[Path]], None] = _nothing


class DraftWithdrawn(Exception):
    """The caller no longer wants the draft (the web worker lost its job): no job recorded.

    Drafts already written stay: whoever took the work over writes the same files.
    """


@dataclass(frozen=True)
class Draft:
    """A drafted recording.

    Attributes:
        transcript: what the drafts were written from.
        files: the drafts, in the order of the formats.
        job: the job recorded for it; None when the caller logs nothing.
    """

    transcript: Transcript
    files: list[Path]
    job: JobRecord | None = None


def load_transcriber(
    settings: Settings, model: str = "base", *, device: str = "cpu", threads: int | None = None
) -> Transcriber:
    """The speech model, from the model folder of the settings.

    Args:
        settings: ``PILOTS_MODEL_DIR`` and ``PILOTS_ASR_THREADS``.
        model: ``base``, a folder name under the model folder, or a folder.
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: CPU threads; None for the setting.

    Raises:
        NotFoundError: the model is not on this machine.
        ConfigError: the device cannot be used.
    """
    return Transcriber(
        model,
        settings.model_dir,
        device=device,
        threads=settings.get("asr_threads") if threads is None else threads,
    )


class DraftPipeline:
    """Turns recordings into minutes drafts and their jobs, one recording at a time.

    Args:
        options: formats, language, fillers, glossary and templates.
        model: gives the loaded speech model (:func:`load_transcriber`, or the
            web worker's, kept between jobs); called once the filler list and
            the glossary are read, so that a wrong file is told before the
            model takes its time to load.

    Attributes:
        speaker_notice: why the speakers asked for will not be told apart (the
            ``speakers`` extra is missing), in one Japanese line for the user; None
            when they will be, or were not asked for.

    Raises:
        InputFileError: the filler list, the glossary or a reference recording of
            ``speaker_voices`` cannot be read.
    """

    def __init__(self, options: DraftOptions, model: Callable[[], Transcriber]) -> None:
        self.options = options
        self.glossary = Glossary.load(options.glossary) if options.glossary else None
        fillers = load_fillers(options.fillers_file) if options.fillers == "remove" else None
        self.text = TextPipeline(fillers=fillers, glossary=self.glossary)
        self.speaker_notice = None if options.speakers == "off" else missing_parts()
        self.speakers = options.speakers != "off" and self.speaker_notice is None
        self.voices: tuple[Voice, ...] = ()
        if self.speakers and options.speaker_voices is not None:
            self.voices = load_voices(options.speaker_voices)
        self.transcriber = model()

    def transcribe(
        self, audio: Path, meeting: MeetingInfo, *, progress: Progress | None = None
    ) -> Transcript:
        """Step 1: the recording as post-processed, flagged text.

        Raises:
            InputFileError: the file is not readable audio.
        """
        return self.transcriber.transcribe(
            audio,
            self.text,
            options=TranscribeOptions(
                language=self.options.language,
                word_timestamps="json" in self.options.formats or self.speakers,
            ),
            meeting=meeting,
            fillers=self.options.fillers,
            glossary_terms=len(self.glossary.terms) if self.glossary else 0,
            progress=progress,
        )

    def label_speakers(self, transcript: Transcript) -> Transcript:
        """Step 1, continued: a speaker on every utterance, split where the speaker changes.

        The transcript as it is when the speakers were not asked for or cannot be
        told apart here; with ``speaker_problem`` set when the step itself failed
        (the draft is still written, without speakers).

        Raises:
            InputFileError: a reference recording cannot be decoded.
        """
        if not self.speakers or transcript.no_speech:
            return transcript
        try:
            found = diarize(
                transcript.audio,
                [(u.start, u.end) for u in transcript.utterances],
                count=speaker_count(self.options.speakers),
                voices=self.voices,
                chunk_seconds=TranscribeOptions().chunk_seconds,
            )
        except SpeakerStepFailed as exc:
            return replace(transcript, speaker_problem=f"話者を区別できませんでした: {exc}")
        return label_transcript(
            transcript,
            found,
            self.text.process,
            names=self.options.speaker_names,
            threshold=self.options.speaker_threshold,
        )

    def write(
        self, transcript: Transcript, out_dir: Path, *, stem: str | None = None
    ) -> list[Path]:
        """Step 2: the drafts as ``out_dir/<stem>.<format>``, all or nothing.

        Raises:
            InputFileError: a template cannot be used.
            OutputFileError: a file cannot be written.
        """
        return write_outputs(
            transcript,
            out_dir,
            self.options.formats,
            stem=stem,
            template_dir=self.options.template_dir,
        )

    def record(self, transcript: Transcript, files: list[Path], log: JobLog) -> JobRecord:
        """Step 3: the job of the drafts, or — if that fails — no drafts either.

        Raises:
            DraftWithdrawn: ``log.held`` said no; nothing was recorded.
        """
        try:
            with log.session() as session:
                if not log.held(session):
                    raise DraftWithdrawn
                today = log.today or date.today()
                job = record_transcription(session, transcript, files, today=today)
                log.store(session, job, files)
        except DraftWithdrawn:
            raise
        except BaseException:
            for path in files:  # a draft without its job would escape the measurement
                path.unlink(missing_ok=True)
            raise
        return job

    def draft_minutes(
        self,
        audio: Path,
        out_dir: Path,
        meeting: MeetingInfo,
        *,
        log: JobLog | None,
        stem: str | None = None,
        progress: Progress | None = None,
        on_transcribed: Callable[[Transcript], None] | None = None,
    ) -> Draft:
        """Every step for one recording: transcribe (and tell the speakers apart), write, record.

        Args:
            audio: the recording.
            out_dir: the drafts' folder (created if missing).
            meeting: the header block of the minutes (and the job's department).
            log: where to record the job; None records none (``--no-log``).
            stem: the drafts' file name without extension; the recording's by default.
            progress: told (seconds of audio done, total seconds) while transcribing.
            on_transcribed: called once the recording is transcribed, before
                anything is written (the command line ends its progress bar
                there); it may raise :class:`DraftWithdrawn`.

        Raises:
            DraftWithdrawn: ``on_transcribed`` or ``log.held`` withdrew the draft.
            PilotsError: the recording, a template, the drafts' folder or the
                database cannot be used; nothing is left behind.
        """
        transcript = self.label_speakers(self.transcribe(audio, meeting, progress=progress))
        if on_transcribed is not None:
            on_transcribed(transcript)
        files = self.write(transcript, out_dir, stem=stem)
        job = self.record(transcript, files, log) if log is not None else None
        return Draft(transcript, files, job)

"""The drafting pipeline, written once: a recording → minutes drafts → the job record.

``pilots asr transcribe``, ``pilots demo`` and the web worker
(:mod:`pilots.web.worker`) all draft minutes through :class:`DraftPipeline`,
whose steps are its methods:

1. :meth:`~DraftPipeline.transcribe`: the speech model, then the Japanese text
   post-processing (fillers, glossary) that :class:`DraftOptions` asks for;
   :meth:`~DraftPipeline.improve`: the department's approved rules and the
   targeted second pass (:mod:`pilots.asr.improve`), as the options ask;
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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pilots.asr.glossary import Glossary, GlossaryTerm
from pilots.asr.improve import ImproveOptions, improve_transcript
from pilots.asr.jobs import JobRecord, record_transcription
from pilots.asr.materials import join_terms, material_terms
from pilots.asr.minutes import write_outputs
from pilots.asr.postprocess import TextPipeline, load_fillers
from pilots.asr.result import MeetingInfo, Transcript
from pilots.asr.transcribe import Progress, TranscribeOptions, Transcriber
from pilots.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DraftOptions:
    """How a recording becomes minutes drafts.

    Attributes:
        formats: the draft formats (some of :data:`pilots.asr.minutes.FORMATS`).
        language: the language code of the recording.
        fillers: ``remove`` (えー, あのー … deleted) or ``keep`` (verbatim, 逐語).
        fillers_file: the office's filler list (``PILOTS_FILLERS_FILE``); None
            for the list shipped with pilots.
        glossary: a glossary file (``表記<TAB>よみ``) to correct terms after
            recognition; None for none.
        template_dir: the office's own draft templates (``PILOTS_TEMPLATE_DIR``).
        unsure_below: the Word draft underlines words the model gave a lower
            probability (:func:`docx_marks`); 0 marks none.
        materials: the meeting's handouts (docx, xlsx, pdf, txt): their terms
            join the glossary for this draft (:mod:`pilots.asr.materials`).
        improve: the learned rules and the second pass (:func:`improve_options`).
    """

    formats: tuple[str, ...] = ("docx",)
    language: str = "ja"
    fillers: str = "remove"
    fillers_file: Path | None = None
    glossary: Path | None = None
    template_dir: Path | None = None
    unsure_below: float = 0.0
    materials: tuple[Path, ...] = ()
    improve: ImproveOptions = field(default_factory=ImproveOptions)


def docx_marks(settings: Settings) -> float:
    """The probability below which the Word draft marks a word (``asr.docx_word_marks`` and
    ``asr.uncertain_word_probability``); 0 when the draft marks none."""
    if not settings.get("asr.docx_word_marks"):
        return 0.0
    threshold: float = settings.get("asr.uncertain_word_probability")
    return threshold


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


def _glossary(options: DraftOptions, materials: list[GlossaryTerm]) -> Glossary | None:
    """The glossary file's terms, the handouts' and the approved rules' (None if none)."""
    terms = list(Glossary.load(options.glossary).terms) if options.glossary else []
    extra = [*materials, *(GlossaryTerm(rule.after) for rule in options.improve.rules)]
    terms = join_terms(terms, extra)
    return Glossary(terms) if terms else None


class DraftPipeline:
    """Turns recordings into minutes drafts and their jobs, one recording at a time.

    Args:
        options: formats, language, fillers, glossary and templates.
        model: gives the loaded speech model (:func:`load_transcriber`, or the
            web worker's, kept between jobs); called once the filler list and
            the glossary are read, so that a wrong file is told before the
            model takes its time to load.

    Raises:
        InputFileError: the filler list, the glossary or a handout cannot be read.
    """

    def __init__(self, options: DraftOptions, model: Callable[[], Transcriber]) -> None:
        self.options = options
        self.materials = material_terms(options.materials, options.improve.materials_max_terms)
        self.glossary = _glossary(options, self.materials)
        fillers = load_fillers(options.fillers_file) if options.fillers == "remove" else None
        self.text = TextPipeline(fillers=fillers, glossary=self.glossary)
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
            # Word timings always: the job keeps them with its draft for the correction
            # editor's uncertain-word marks (and the Word draft's, asr.docx_word_marks).
            options=TranscribeOptions(language=self.options.language, word_timestamps=True),
            meeting=meeting,
            fillers=self.options.fillers,
            glossary_terms=len(self.glossary.terms) if self.glossary else 0,
            progress=progress,
        )

    def improve(self, transcript: Transcript) -> None:
        """Step 1b: the approved rules and the second pass, as the options ask (in place)."""
        improve_transcript(
            transcript,
            self.transcriber,
            self.glossary,
            self.options.improve,
            materials=len(self.materials),
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
            unsure_below=self.options.unsure_below,
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
        """Every step for one recording: transcribe, write the drafts, record the job.

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
        transcript = self.transcribe(audio, meeting, progress=progress)
        self.improve(transcript)
        if on_transcribed is not None:
            on_transcribed(transcript)
        files = self.write(transcript, out_dir, stem=stem)
        job = self.record(transcript, files, log) if log is not None else None
        return Draft(transcript, files, job)

"""The drafting pipeline, written once: a recording → minutes drafts → the job record.

``pilots asr transcribe``, ``pilots demo`` and the web worker
(:mod:`pilots.web.worker`) all draft minutes through :class:`DraftPipeline`,
whose steps are its methods:

1. :meth:`~DraftPipeline.hear`: the speech model — in this process, or in the
   model processes of :func:`speech_model` when there are several;
2. :meth:`~DraftPipeline.finish`: the Japanese text post-processing (fillers,
   glossary) that :class:`DraftOptions` asks for, and the review flags;
   :meth:`~DraftPipeline.label_speakers`: who speaks (話者1, 話者2 … or names),
   each utterance split where the speaker changes (:mod:`pilots.asr.speakers`);
   :meth:`~DraftPipeline.improve`: the department's approved rules and the
   targeted second pass (:mod:`pilots.asr.improve`), as the options ask;
3. :meth:`~DraftPipeline.write`: the drafts, every format or none
   (:func:`pilots.asr.minutes.write_outputs`);
4. :meth:`~DraftPipeline.record`: the job, for the time-saved measurement of
   SPEC §3 (:func:`pilots.asr.jobs.record_transcription`), unless the caller
   logs nothing (``--no-log``).

:meth:`~DraftPipeline.draft_minutes` runs them for one recording,
:meth:`~DraftPipeline.draft_each` for several — their step 1 side by side,
steps 2–4 one recording at a time in the order given; both go through
:meth:`~DraftPipeline.complete` for steps 2–4.

A draft never outlives a failed record: if recording the job fails or is
interrupted (Ctrl-C, SIGTERM), the transaction is rolled back and the drafts
just written are removed. Steps that change the transcript (speaker labels, a
second pass with the glossary) belong between 2 and 3, in
:meth:`~DraftPipeline.complete`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
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
from pilots.asr.speaker_labels import label_transcript
from pilots.asr.speakers import (
    SpeakerStepFailed,
    Voice,
    diarize,
    load_voices,
    missing_parts,
    speaker_count,
)
from pilots.asr.transcribe import (
    Progress,
    Recognised,
    SpeechModel,
    TranscribeOptions,
    Transcriber,
)
from pilots.config import Settings
from pilots.errors import InputFileError, PilotsError

if TYPE_CHECKING:
    from concurrent.futures import Future

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
        speakers: ``auto`` (tell the speakers apart when the ``speakers`` extra is
            installed), ``off``, or a fixed number of speakers (``"3"``); a value
            checked by :func:`pilots.asr.speakers.check_speakers`.
        speaker_names: names for 話者1, 話者2 … in order of first appearance.
        speaker_voices: a folder of reference recordings named after people
            (``議長.wav``) that name the speakers whose voice matches.
        speaker_threshold: the cosine similarity from which a reference recording
            names a speaker (``PILOTS_ASR_SPEAKER_THRESHOLD``).
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
    speakers: str = "auto"
    speaker_names: tuple[str, ...] = ()
    speaker_voices: Path | None = None
    speaker_threshold: float = 0.89
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


@contextmanager
def speech_model(
    settings: Settings,
    model: str = "base",
    *,
    device: str = "cpu",
    threads: int | None = None,
    jobs: int | None = None,
    recordings: Sequence[Path] | None = None,
) -> Iterator[SpeechModel]:
    """The speech model: in this process, or in a pool of model processes closed at the end.

    Args:
        settings: ``PILOTS_MODEL_DIR``, ``PILOTS_ASR_THREADS`` and ``PILOTS_ASR_JOBS``.
        model: ``base``, a folder name under the model folder, or a folder.
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: CPU threads of each process; None for the setting, 0 for the
            cores shared out among the processes.
        jobs: model processes; None for the setting, 0 for as many as the cores
            and the free memory allow (:func:`pilots.asr.parallel.default_processes`).
        recordings: what is to be transcribed, when known: no more processes
            than their chunks (a 5-minute meeting is one chunk: one process).

    Raises:
        NotFoundError: the model is not on this machine.
        ConfigError: the device cannot be used.
        PilotsError: the model processes cannot load the model.
    """
    from pilots.asr.modelfiles import resolve_model
    from pilots.asr.parallel import ModelPool, default_processes, usable_cores

    wanted: int = settings.get("asr_jobs") if jobs is None else jobs
    if wanted != 1:
        name, path = resolve_model(model, settings.model_dir)
        if wanted == 0:
            wanted = default_processes((path / "model.bin").stat().st_size, device)
        if recordings is not None:
            wanted = min(wanted, _most_chunks(recordings, wanted))
    if wanted <= 1:
        yield load_transcriber(settings, model, device=device, threads=threads)
        return
    each: int = settings.get("asr_threads") if threads is None else threads
    with ModelPool(
        name,
        path,
        processes=wanted,
        device=device,
        threads=each or max(1, usable_cores() // wanted),
    ) as pool:
        yield pool


def _most_chunks(recordings: Sequence[Path], unknown: int) -> int:
    """How many chunks the recordings have at most; ``unknown`` for one without a length."""
    from pilots.asr.audio import most_chunks, probe_duration

    total = 0
    for path in recordings:
        try:
            duration = probe_duration(path)
        except InputFileError:
            duration = 0.0  # told when it is transcribed, like any recording
        total += unknown if duration is None else most_chunks(duration)
    return total


@dataclass(frozen=True)
class Drafted:
    """One recording of :meth:`DraftPipeline.draft_each`: its draft, or why it has none.

    Attributes:
        audio: the recording.
        draft: the draft and its job.
        error: what went wrong instead (the recording, a template, the drafts' folder).
    """

    audio: Path
    draft: Draft | None = None
    error: PilotsError | None = None


def _glossary(options: DraftOptions, materials: list[GlossaryTerm]) -> Glossary | None:
    """The glossary file's terms, the handouts' and the approved rules' (None if none)."""
    terms = list(Glossary.load(options.glossary).terms) if options.glossary else []
    extra = [*materials, *(GlossaryTerm(rule.after) for rule in options.improve.rules)]
    terms = join_terms(terms, extra)
    return Glossary(terms) if terms else None


class DraftPipeline:
    """Turns recordings into minutes drafts and their jobs.

    Args:
        options: formats, language, fillers, glossary and templates.
        model: gives the loaded speech model (:func:`speech_model`, or the
            web worker's, kept between jobs); called once the filler list and
            the glossary are read, so that a wrong file is told before the
            model takes its time to load.

    Attributes:
        speaker_notice: why the speakers asked for will not be told apart (the
            ``speakers`` extra is missing), in one Japanese line for the user; None
            when they will be, or were not asked for.

    Raises:
        InputFileError: the filler list, the glossary, a handout or a reference
            recording of ``speaker_voices`` cannot be read.
    """

    def __init__(self, options: DraftOptions, model: Callable[[], SpeechModel]) -> None:
        self.options = options
        self.materials = material_terms(options.materials, options.improve.materials_max_terms)
        self.glossary = _glossary(options, self.materials)
        fillers = load_fillers(options.fillers_file) if options.fillers == "remove" else None
        self.text = TextPipeline(fillers=fillers, glossary=self.glossary)
        self.speaker_notice = None if options.speakers == "off" else missing_parts()
        self.speakers = options.speakers != "off" and self.speaker_notice is None
        self.voices: tuple[Voice, ...] = ()
        if self.speakers and options.speaker_voices is not None:
            self.voices = load_voices(options.speaker_voices)
        self.transcriber = model()

    def hear(self, audio: Path, *, progress: Progress | None = None) -> Recognised:
        """Step 1: the recording's segments as the speech model heard them.

        Raises:
            InputFileError: the file is not readable audio.
        """
        return self.transcriber.hear(
            audio,
            # Word timings always: the job keeps them with its draft for the correction
            # editor's uncertain-word marks (and the Word draft's, asr.docx_word_marks).
            TranscribeOptions(language=self.options.language, word_timestamps=True),
            progress=progress,
        )

    def finish(self, recognised: Recognised, meeting: MeetingInfo) -> Transcript:
        """Step 2: the post-processed, flagged text under the meeting's header."""
        return recognised.finish(
            self.text,
            meeting=meeting,
            fillers=self.options.fillers,
            glossary_terms=len(self.glossary.terms) if self.glossary else 0,
        )

    def label_speakers(self, transcript: Transcript) -> Transcript:
        """Step 2, continued: a speaker on every utterance, split where the speaker changes.

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

    def improve(self, transcript: Transcript) -> None:
        """Step 2, continued: the approved rules and the second pass, as asked (in place)."""
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
        """Step 3: the drafts as ``out_dir/<stem>.<format>``, all or nothing.

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
        """Step 4: the job of the drafts, or — if that fails — no drafts either.

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

    def complete(
        self,
        recognised: Recognised,
        out_dir: Path,
        meeting: MeetingInfo,
        *,
        log: JobLog | None,
        stem: str | None = None,
        on_transcribed: Callable[[Transcript], None] | None = None,
    ) -> Draft:
        """Steps 2–4 for a recording the model has heard (see :meth:`draft_minutes`)."""
        transcript = self.label_speakers(self.finish(recognised, meeting))
        self.improve(transcript)
        if on_transcribed is not None:
            on_transcribed(transcript)
        files = self.write(transcript, out_dir, stem=stem)
        job = self.record(transcript, files, log) if log is not None else None
        return Draft(transcript, files, job)

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
        return self.complete(
            self.hear(audio, progress=progress),
            out_dir,
            meeting,
            log=log,
            stem=stem,
            on_transcribed=on_transcribed,
        )

    def draft_each(
        self,
        recordings: Sequence[Path],
        out_dir: Path,
        meeting: MeetingInfo,
        *,
        log: JobLog | None,
        progress: Callable[[int], Progress | None] = lambda _index: None,
    ) -> Generator[Drafted, None, None]:
        """Every step for several recordings, as :meth:`draft_minutes` takes one.

        As many recordings are heard at once as the model has processes (a long
        one's chunks fill them all); then, in the order given, each is finished,
        written and recorded as soon as it and those before it are heard — so
        the drafts and the jobs come as they would one recording after another.
        A recording that fails is told and the others go on.

        Args:
            recordings: the recordings, in the order their drafts are made.
            out_dir: the drafts' folder (created if missing).
            meeting: the header block of every draft.
            log: where to record the jobs; None records none.
            progress: gives the progress callback of the i-th recording.

        Yields:
            One :class:`Drafted` per recording, in the order given.
        """
        for audio, heard in zip(recordings, self._hear_each(recordings, progress), strict=True):
            if isinstance(heard, PilotsError):
                yield Drafted(audio, error=heard)
                continue
            try:
                draft = self.complete(heard, out_dir, meeting, log=log)
            except PilotsError as exc:
                yield Drafted(audio, error=exc)
                continue
            yield Drafted(audio, draft)

    def _hear_each(
        self, recordings: Sequence[Path], progress: Callable[[int], Progress | None]
    ) -> Iterator[Recognised | PilotsError]:
        """Step 1 for each recording in turn, or for as many at once as there are processes."""
        if self.transcriber.processes == 1:
            for index, audio in enumerate(recordings):
                try:
                    heard: Recognised | PilotsError = self.hear(audio, progress=progress(index))
                except PilotsError as exc:
                    heard = exc
                yield heard
            return
        from concurrent.futures import ThreadPoolExecutor

        threads = ThreadPoolExecutor(self.transcriber.processes, thread_name_prefix="pilots-hear")
        futures = [
            threads.submit(self.hear, audio, progress=progress(index))
            for index, audio in enumerate(recordings)
        ]
        try:
            for future in futures:
                try:
                    heard = _wait_for(future)
                except PilotsError as exc:
                    heard = exc
                yield heard
        finally:
            # Interrupted: those still being heard stop when the model's processes are closed.
            threads.shutdown(wait=False, cancel_futures=True)


def _wait_for(future: Future[Recognised]) -> Recognised:
    # A timed wait, so that Ctrl-C interrupts it on Windows too.
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue

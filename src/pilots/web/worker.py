"""The transcription worker: claims queued jobs, transcribes them and stores the drafts.

``pilots worker`` runs :meth:`Worker.run`; ``pilots serve`` runs one in a
thread unless told not to. The worker needs only the database: it reads the
recording from the job's stored chunks into a temporary file and drafts it with
:class:`pilots.asr.draft.DraftPipeline`: the drafts go into its own data folder
(``<data_dir>/minutes/<job>/``), and then — in one transaction — the job is
logged and the drafts stored in the queue, provided it still holds the job. A
thread renews the job's lease every few seconds while the model works.

A worker with a concurrency of N runs N such loops in threads, each claiming
its own jobs; they share N model processes (:mod:`pilots.asr.parallel`), so N
recordings are transcribed at once — and one long recording alone spreads its
chunks over all of them.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pilots import db
from pilots.asr.draft import (
    DraftOptions,
    DraftPipeline,
    DraftWithdrawn,
    JobLog,
    docx_marks,
    speech_model,
)
from pilots.asr.improve import improve_options
from pilots.asr.jobs import JobRecord
from pilots.asr.result import MeetingInfo, Transcript
from pilots.asr.rules import approved_rules
from pilots.asr.transcribe import SpeechModel
from pilots.config import Settings
from pilots.errors import PilotsError
from pilots.tables import WebJob
from pilots.web import queue, uploads

logger = logging.getLogger("pilots")


def worker_name() -> str:
    """A name for this worker that no other process on any machine has."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class JobOutcome:
    """What processing one job did.

    Attributes:
        job_id: the queue job.
        state: ``done``, ``failed``, or ``lost`` (the lease expired and another
            worker took the job; nothing was stored).
        asr_job_id: the job log entry (``pilots asr jobs``), when done.
        no_speech: no speech was found in the recording (the job is flagged so).
        message: the error shown to the clerk, when failed.
    """

    job_id: int
    state: str
    asr_job_id: int | None = None
    message: str = ""
    no_speech: bool = False


class Worker:
    """Processes the transcription queue.

    Args:
        factory: sessions on the shared database.
        settings: model folder, threads, data folder, lease timeout, attempts.
        name: this worker's name in the queue (unique by default).
        poll: seconds between looks at an empty queue.
        stop: set it to make :meth:`run` return after the current jobs.
        log: told, in Japanese, what the worker does (one line per event).
        concurrency: how many jobs it transcribes at once, each in a model
            process of its own (1: the model in this process).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        *,
        name: str | None = None,
        poll: float = 2.0,
        stop: threading.Event | None = None,
        log: Callable[[str], None] = lambda _line: None,
        concurrency: int = 1,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.name = name or worker_name()
        self.poll = poll
        self.stop = stop or threading.Event()
        self.log = log
        self.stale_seconds: float = settings.get("worker_stale_seconds")
        self.max_attempts: int = settings.get("worker_max_attempts")
        self.concurrency = concurrency
        self._transcriber: SpeechModel | None = None
        self._models = ExitStack()
        self._model_lock = threading.Lock()
        self._told_speakers = False

    @property
    def beat_seconds(self) -> float:
        """How often the lease is renewed: well inside the stale timeout."""
        return max(0.2, min(10.0, self.stale_seconds / 4))

    def run(self, *, once: bool = False) -> int:
        """Process jobs until ``stop`` is set (or, with ``once``, until the queue is empty).

        With a concurrency of N, N loops claim and process jobs side by side
        (this thread runs one). Interrupted (Ctrl-C), every loop puts its job
        back in the queue and the model processes end.

        Returns:
            How many jobs this worker finished (done or failed).
        """
        with db.session_scope(self.factory) as session:
            removed = uploads.remove_work_leftovers(session, self.settings.data_dir)
        if removed:
            self.log(f"前回の異常終了で残った録音の作業コピー {removed}件を削除しました")
        others = [_Loop(self, once) for _ in range(self.concurrency - 1)]
        for loop in others:
            loop.start()
        try:
            finished = self._loop(once)
            for loop in others:
                while loop.is_alive():  # a timed wait: Ctrl-C interrupts it on Windows too
                    loop.join(timeout=0.5)
        except BaseException:
            self.stop.set()
            raise
        finally:
            self._models.close()  # a loop still transcribing is interrupted and releases its job
            for loop in others:
                loop.join()
        for loop in others:
            if loop.error is not None:
                raise loop.error
        return finished + sum(loop.finished for loop in others)

    def _loop(self, once: bool) -> int:
        finished = 0
        while not self.stop.is_set():
            outcome = self.run_one()
            if outcome is None:
                if once:
                    break
                self.stop.wait(self.poll)
                continue
            if outcome.state != "lost":
                finished += 1
        return finished

    def run_one(self) -> JobOutcome | None:
        """Requeue abandoned jobs, then claim and process one job; None if the queue is empty."""
        with db.session_scope(self.factory) as session:
            requeued = queue.requeue_stale(
                session, stale_seconds=self.stale_seconds, max_attempts=self.max_attempts
            )
        for job_id in requeued.requeued:
            self.log(f"ジョブ #{job_id}: 応答のない作業プロセスから取り戻し、待ち行列に戻しました")
        for job_id in requeued.failed:
            self.log(f"ジョブ #{job_id}: 失敗（{self.max_attempts}回とも途中で止まりました）")
        with db.session_scope(self.factory) as session:
            claim = queue.claim(session, self.name)
        if claim is None:
            return None
        self.log(f"ジョブ #{claim.job_id}: 開始（{claim.attempt}回目、{self.name}）")
        try:
            outcome = self.process(claim)
        except KeyboardInterrupt:
            # Stopped by hand: the job goes back to the queue at once, not after the timeout.
            with db.session_scope(self.factory) as session:
                queue.release(session, claim)
            self.log(f"ジョブ #{claim.job_id}: 中断したため待ち行列に戻しました")
            raise
        if outcome.state == "done":
            silent = "、音声が検出されませんでした" if outcome.no_speech else ""
            self.log(
                f"ジョブ #{claim.job_id}: 完了（効果測定のジョブ #{outcome.asr_job_id}{silent}）"
            )
        elif outcome.state == "failed":
            self.log(f"ジョブ #{claim.job_id}: 失敗（{outcome.message}）")
        else:
            self.log(
                f"ジョブ #{claim.job_id}: 他の作業プロセスに引き継がれたため結果を破棄しました"
            )
        return outcome

    def process(self, claim: queue.Claim) -> JobOutcome:
        """Transcribe a claimed job and finish it (done, failed, or lost)."""
        progress = _Progress()
        beat = threading.Thread(
            target=self._heartbeat, args=(claim, progress), name="pilots-heartbeat", daemon=True
        )
        # In the data folder, not the system's temp: a copy left by a killed worker is
        # found there and removed (uploads.remove_work_leftovers) — it is personal data.
        folder = uploads.work_dir(self.settings.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"job{claim.job_id}-", dir=folder))
        beat.start()
        try:
            return self._transcribe(claim, work, progress)
        except PilotsError as exc:
            return self._fail(claim, str(exc))
        except Exception as exc:  # a bug or a broken model must not kill the worker
            logger.exception("job %s failed", claim.job_id)
            return self._fail(claim, f"予期しないエラーです（{type(exc).__name__}: {exc}）")
        finally:
            progress.done.set()
            beat.join()
            shutil.rmtree(work, ignore_errors=True)

    def _heartbeat(self, claim: queue.Claim, progress: _Progress) -> None:
        while not progress.done.wait(self.beat_seconds):
            try:
                with db.session_scope(self.factory) as session:
                    held = queue.heartbeat(session, claim, progress.share)
            except Exception:  # the database may be back at the next beat
                logger.warning("heartbeat of job %s failed", claim.job_id, exc_info=True)
                continue
            if not held:
                progress.lost.set()
                return

    def _fail(self, claim: queue.Claim, message: str) -> JobOutcome:
        with db.session_scope(self.factory) as session:
            held = queue.fail(session, claim, message)
        return JobOutcome(claim.job_id, "failed" if held else "lost", message=message)

    def _model(self) -> SpeechModel:
        # Loaded by the first job and kept (closed when run() ends): the next job needs it too.
        with self._model_lock:
            if self._transcriber is None:
                self._transcriber = self._models.enter_context(
                    speech_model(self.settings, jobs=self.concurrency)
                )
            return self._transcriber

    def _transcribe(self, claim: queue.Claim, work: Path, progress: _Progress) -> JobOutcome:
        with db.session_scope(self.factory) as session:
            job = session.get(WebJob, claim.job_id)
            assert job is not None
            audio = work / "recording"
            queue.write_audio(session, claim.job_id, audio)
            meeting = MeetingInfo(
                title=job.title,
                date=job.meeting_date,
                place=job.place,
                attendees=job.attendees,
                department=job.department,
            )
            glossary_text = job.glossary
            formats = tuple(f for f in job.formats.split(",") if f)
            speakers = job.speakers
            stem = Path(job.original_name).stem or "recording"
            # The handouts sent with the job, and the department's approved rules (issue 16).
            materials = tuple(queue.write_materials(session, claim.job_id, work))
            rules = approved_rules(session, job.department)
        glossary = None
        if glossary_text:
            glossary = work / "glossary.tsv"
            glossary.write_text(glossary_text, encoding="utf-8")
        pipeline = DraftPipeline(
            DraftOptions(
                formats=formats,
                fillers_file=self.settings.optional_path("fillers_file"),
                glossary=glossary,
                template_dir=self.settings.optional_path("template_dir"),
                unsure_below=docx_marks(self.settings),
                speakers=speakers,
                speaker_voices=self.settings.optional_path("asr.speaker_voices"),
                speaker_threshold=self.settings.get("asr.speaker_threshold"),
                materials=materials,
                improve=improve_options(self.settings, rules),
            ),
            self._model,
        )
        if pipeline.speaker_notice and not self._told_speakers:
            self._told_speakers = True  # once per worker, not once per job
            self.log(pipeline.speaker_notice)

        def still_held(session: Session) -> bool:
            return queue.still_held(session, claim)

        def store(session: Session, record: JobRecord, files: list[Path]) -> None:
            drafts = {path.suffix.lstrip("."): path.read_bytes() for path in files}
            queue.complete(session, claim, drafts, record.job_id)

        log = JobLog(
            session=lambda: db.session_scope(self.factory),
            held=still_held,
            store=store,
        )
        try:
            draft = pipeline.draft_minutes(
                audio,
                self.settings.data_dir / "minutes" / f"job{claim.job_id}",
                meeting,
                log=log,
                stem=_safe_stem(stem),
                progress=progress,
                on_transcribed=progress.check_held,
            )
        except DraftWithdrawn:
            return JobOutcome(claim.job_id, "lost")
        assert draft.job is not None
        return JobOutcome(
            claim.job_id, "done", asr_job_id=draft.job.job_id, no_speech=draft.job.no_speech
        )


class _Loop(threading.Thread):
    """One more loop of a worker that runs several jobs at once."""

    def __init__(self, worker: Worker, once: bool) -> None:
        super().__init__(name="pilots-worker-loop", daemon=True)
        self.worker = worker
        self.once = once
        self.finished = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.finished = self.worker._loop(self.once)
        except KeyboardInterrupt:
            pass  # its job is back in the queue (Worker.run_one); the worker is stopping
        except BaseException as exc:  # the database went away …: the worker stops and tells
            self.error = exc
            self.worker.stop.set()


class _Progress:
    """The share of the recording done, written by the model's thread, read by the heartbeat."""

    def __init__(self) -> None:
        self.share: float | None = None
        self.done = threading.Event()
        self.lost = threading.Event()

    def __call__(self, done: float, total: float | None) -> None:
        if total:
            self.share = min(done / total, 1.0)

    def check_held(self, _transcript: Transcript) -> None:
        """Withdraw the draft if the heartbeat found the job taken over while the model worked."""
        if self.lost.is_set():
            raise DraftWithdrawn


def _safe_stem(stem: str) -> str:
    # The draft's file name on the worker's disk: letters, digits and a few marks only.
    cleaned = "".join(c if c.isalnum() or c in "-_ ()（）" else "_" for c in stem).strip()
    return cleaned[:80] or "recording"

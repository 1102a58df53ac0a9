"""Transcribing on every core: model processes that take chunks from any recording.

On a CPU one transcription keeps about 1.2 cores busy whatever its thread count
(beam search on the base model does not spread over threads), so pilots runs
several model processes with one thread each. :class:`ModelPool` starts them
with the "spawn" method (no fork once threads exist; Windows has nothing else),
each loads the model once and then transcribes whatever chunk it is sent, from
whichever recording and whichever thread of this process asks. A long
recording's chunks are transcribed side by side; several recordings share the
processes.

The text is the sequential run's by construction: the chunks are cut here, in
the caller, exactly as for one process; each is transcribed on its own, as
:mod:`pilots.asr.transcribe` always does; the results are joined in the order
of the chunks before the post-processing and the review flags run over the
whole recording.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from pilots.asr.audio import Chunk
from pilots.asr.transcribe import (
    ChunkText,
    Heard,
    SpeechModel,
    T,
    TranscribeOptions,
    Transcriber,
)
from pilots.errors import PilotsError
from pilots.processes import end_with_parent, portable_error

logger = logging.getLogger("pilots")

PROCESS_BYTES = 850 << 20
"""A model process's peak memory beyond its model file: measured with ``base`` (138 MiB
``model.bin``) on a 10-minute chunk, 963 MiB in all — the runtime, the voice activity
detection and the features of the chunk."""

HEADROOM_BYTES = 1 << 30
"""Memory left to the rest of the PC when the number of processes is chosen."""

BASE_MODEL_BYTES = 145_217_532
"""The size of the bundled base model's ``model.bin``."""

_CHUNK = "chunk"  # the kinds of work a process is sent
_CALL = "call"
_POLL = 0.2  # seconds between looks at a closing pool, and Ctrl-C on Windows


class Interrupted(KeyboardInterrupt):
    """The pool was closed while this thread waited for it: stop as Ctrl-C stops.

    Raised in the other threads of a command stopped by Ctrl-C or SIGTERM, so
    that they clean up as the interrupted one does (a web worker puts its job
    back in the queue).
    """


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_processes(model_bytes: int = BASE_MODEL_BYTES, device: str = "cpu") -> int:
    """How many model processes this PC runs at once: one per core, as far as memory allows.

    Each process holds a model and the working memory of one chunk
    (:data:`PROCESS_BYTES` beyond the model file); :data:`HEADROOM_BYTES` stay
    free. On a GPU one process: it already uses the whole device.
    """
    if device != "cpu":
        return 1
    import psutil

    spare = int(psutil.virtual_memory().available) - HEADROOM_BYTES
    return max(1, min(usable_cores(), spare // (PROCESS_BYTES + model_bytes)))


@dataclass(eq=False)
class _Task:
    """Work given to the pool — a chunk to transcribe, or a transcript's second pass —
    until a process has done it."""

    id: int
    inbox: queue.Queue[tuple[str, int, Any]] | None  # None: its caller is gone
    work: tuple[Any, ...] | None  # what the process is sent; dropped once sent


@dataclass
class _Child:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    task: _Task | None = None


class ModelPool(SpeechModel):
    """``processes`` model processes that transcribe chunks for any thread of this process.

    Close it (:meth:`close`, or use it as a context manager) when done: its
    processes end then, and at the latest when this process ends, however it
    ends.

    Args:
        model_name: the model's name, recorded with each transcript.
        model_path: the model's folder (already resolved and assembled).
        processes: how many processes, each with the model loaded.
        device: ``cpu``, ``cuda`` or ``auto``.
        threads: CPU threads of each process.

    Raises:
        PilotsError: the model cannot be loaded (the processes' own message).
    """

    def __init__(
        self,
        model_name: str,
        model_path: Path,
        *,
        processes: int,
        device: str = "cpu",
        threads: int = 1,
    ) -> None:
        self.model_name = model_name
        self.processes = processes
        self._spec = (str(model_path), device, threads)
        self._context = multiprocessing.get_context("spawn")
        # Chunks handed out and not yet transcribed: every process busy and one waiting,
        # so that memory stays bounded however many recordings and threads ask.
        self._slots = threading.Semaphore(processes + 1)
        self._lock = threading.Lock()
        self._tasks: dict[int, _Task] = {}
        self._pending: deque[_Task] = deque()
        self._ids = itertools.count()
        self._closing = threading.Event()
        self._failure: BaseException | None = None
        started: queue.Queue[str | None] = queue.Queue()
        # The processes are started, watched and ended by this one thread: on Linux
        # PR_SET_PDEATHSIG kills them when the *thread* that started them ends.
        self._keeper = threading.Thread(
            target=self._keep, args=(started,), name="pilots-model-pool", daemon=True
        )
        self._keeper.start()
        try:
            problem = _get(started)
        except BaseException:
            self.close()
            raise
        if problem is not None:
            self.close()
            raise PilotsError(problem)

    def __enter__(self) -> ModelPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the processes; threads still waiting for a chunk get :class:`Interrupted`."""
        self._closing.set()
        self._keeper.join()

    def transcribe_chunks(
        self, audio: Path, chunks: Iterator[Chunk], options: TranscribeOptions, heard: Heard
    ) -> Iterator[ChunkText]:
        """The chunks' text in order, transcribed by the processes side by side.

        Chunks are read (decoded) in the calling thread as the processes have
        room for them.

        Raises:
            PilotsError: a model process ended while transcribing a chunk of ``audio``.
            Interrupted: the pool was closed meanwhile.
        """
        inbox: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        order: deque[int] = deque()  # the chunks given out, in the recording's order
        offsets: dict[int, float] = {}
        finished: dict[int, ChunkText] = {}
        source = iter(chunks)
        more = True
        try:
            while more or order:
                self._check_open()
                if order and order[0] in finished:
                    yield finished.pop(order.popleft())
                    continue
                if more and self._slots.acquire(timeout=0 if order else _POLL):
                    try:
                        chunk = next(source, None)
                    except BaseException:
                        self._slots.release()
                        raise
                    if chunk is None:
                        self._slots.release()
                        more = False
                    else:
                        order.append(self._submit((_CHUNK, chunk, options), inbox))
                        offsets[order[-1]] = chunk.offset
                    continue
                try:
                    kind, task, payload = inbox.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if kind == "progress":
                    heard(offsets[task], payload)
                elif kind == "done":
                    finished[task] = payload
                elif kind == "died":
                    raise PilotsError(
                        f"{audio}: 音声認識のプロセスが異常終了しました（終了コード {payload}）"
                    )
                else:
                    raise payload
        finally:
            self._forget(order)

    def call(self, work: Callable[..., T], *args: Any) -> T:
        """``work(transcriber, *args)`` in one of the processes, and its result.

        Raises:
            PilotsError: the process ended while doing it.
            Interrupted: the pool was closed meanwhile.
        """
        inbox: queue.Queue[tuple[str, int, Any]] = queue.Queue()
        while not self._slots.acquire(timeout=_POLL):
            self._check_open()
        task = self._submit((_CALL, work, args), inbox)
        try:
            while True:
                self._check_open()
                try:
                    kind, _task, payload = inbox.get(timeout=_POLL)
                except queue.Empty:
                    continue
                if kind == "done":
                    result: T = payload
                    return result
                if kind == "died":
                    raise PilotsError(
                        f"音声認識のプロセスが異常終了しました（終了コード {payload}）"
                    )
                if kind != "progress":
                    raise payload
        finally:
            self._forget(deque([task]))

    def _submit(self, work: tuple[Any, ...], inbox: queue.Queue[tuple[str, int, Any]]) -> int:
        task = _Task(next(self._ids), inbox, work)
        with self._lock:
            self._tasks[task.id] = task
            self._pending.append(task)
        return task.id

    def _forget(self, ids: deque[int]) -> None:
        """The caller no longer waits for these chunks: drop those not yet sent."""
        with self._lock:
            for task_id in ids:
                task = self._tasks.get(task_id)
                if task is None:
                    continue
                task.inbox = None
                if task in self._pending:
                    self._pending.remove(task)
                    del self._tasks[task_id]
                    self._slots.release()

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closing.is_set():
            raise Interrupted

    # --- the keeper thread -------------------------------------------------------------

    def _keep(self, started: queue.Queue[str | None]) -> None:
        children: list[_Child] = []
        try:
            children = [self._start() for _ in range(self.processes)]
            problem = self._wait_ready(children)
            started.put(problem)
            if problem is not None:
                return
            while not self._closing.is_set():
                self._assign(children)
                self._receive(children)
        except BaseException as exc:
            self._failure = portable_error(exc)
            started.put(f"音声認識のプロセスを管理できません（{type(exc).__name__}: {exc}）")
        finally:
            self._closing.set()
            _stop(children)

    def _start(self) -> _Child:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve,
            args=(theirs, *self._spec, os.getpid()),
            name="pilots-model",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Child(process, ours)

    def _wait_ready(self, children: list[_Child]) -> str | None:
        while not all(child.ready for child in children):
            if self._closing.is_set():
                return "中断しました"
            for child, message in _messages(children, _POLL):
                if message is None:
                    return (
                        f"音声認識のプロセスが起動できませんでした"
                        f"（終了コード {child.process.exitcode}）"
                    )
                if message[0] == "failed":
                    return str(message[1])
                child.ready = True
        return None

    def _assign(self, children: list[_Child]) -> None:
        for child in children:
            if not child.ready or child.task is not None:
                continue
            with self._lock:
                if not self._pending:
                    return
                task = self._pending.popleft()
            work, task.work = task.work, None
            child.task = task
            # If the process is gone, _receive finds it ended and fails the task.
            with contextlib.suppress(OSError):
                child.conn.send((task.id, work))

    def _receive(self, children: list[_Child]) -> None:
        for child, message in _messages(children, _POLL):
            if message is None:
                self._replace(children, child)
                continue
            kind, task_id, payload = message
            with self._lock:
                task = self._tasks.get(task_id)
                if kind != "progress":
                    child.task = None
                    self._tasks.pop(task_id, None)
                    self._slots.release()
                inbox = task.inbox if task is not None else None
            if inbox is not None:
                inbox.put((kind, task_id, payload))

    def _replace(self, children: list[_Child], dead: _Child) -> None:
        """A process ended by itself (killed, out of memory): fail its chunk, start another."""
        code = dead.process.exitcode
        logger.info("model process %s ended with code %s", dead.process.pid, code)
        dead.conn.close()
        children.remove(dead)
        if dead.task is not None:
            with self._lock:
                self._tasks.pop(dead.task.id, None)
                self._slots.release()
                inbox = dead.task.inbox
            if inbox is not None:
                inbox.put(("died", dead.task.id, code))
        fresh = self._start()
        children.append(fresh)
        problem = self._wait_ready([fresh])
        if problem is not None:
            raise RuntimeError(problem)


def _messages(children: list[_Child], timeout: float) -> Iterator[tuple[_Child, Any]]:
    """The messages the processes sent within ``timeout``; (child, None) for one that ended."""
    by_object: dict[Any, _Child] = {}
    for child in children:
        by_object[child.conn] = child
        by_object[child.process.sentinel] = child
    ended: list[_Child] = []
    for ready in wait(list(by_object), timeout):
        child = by_object[ready]
        if ready is not child.conn:
            if child not in ended:
                ended.append(child)
            continue
        try:
            yield child, child.conn.recv()
        except (EOFError, OSError):
            if child not in ended:
                ended.append(child)
    for child in ended:
        while _has_message(child.conn):  # what it said before it ended still counts
            try:
                yield child, child.conn.recv()
            except (EOFError, OSError):
                break
        child.process.join()
        yield child, None


def _has_message(conn: Connection) -> bool:
    try:
        return conn.poll()
    except (EOFError, OSError):
        return False


def _stop(children: list[_Child]) -> None:
    """End the processes: an idle one is told to stop, a busy one is terminated."""
    for child in children:
        if child.ready and child.task is None:
            try:
                child.conn.send(None)
                continue
            except OSError:
                pass
        child.process.terminate()
    for child in children:
        child.process.join(timeout=5)
        if child.process.is_alive():
            child.process.kill()
            child.process.join()
        child.conn.close()


def _get(box: queue.Queue[str | None]) -> str | None:
    # A timed wait, so that Ctrl-C interrupts it on Windows too.
    while True:
        try:
            return box.get(timeout=_POLL)
        except queue.Empty:
            continue


def serve(conn: Connection, model_path: str, device: str, threads: int, parent: int) -> None:
    """A model process: load the model once, then transcribe each chunk it is sent.

    It ends when told to (None), when the pipe to its parent closes, and with
    its parent (:func:`pilots.processes.end_with_parent`). Ctrl-C reaches every
    process of a terminal's foreground group: this one leaves it to the parent.
    """
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # faster-whisper makes a (hidden) tqdm bar, whose default lock is a multiprocessing
    # semaphore: a process terminated mid-chunk would leave it to multiprocessing's
    # resource tracker, which complains about it on stderr. A thread lock does here.
    importlib.import_module("tqdm").tqdm.set_lock(threading.RLock())
    try:
        model = Transcriber(model_path, Path(model_path).parent, device=device, threads=threads)
    except Exception as exc:
        conn.send(("failed", str(exc)))
        return
    conn.send(("ready",))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        task_id, work = task

        def heard(_offset: float, seconds: float, task_id: int = task_id) -> None:
            conn.send(("progress", task_id, seconds))

        try:
            if work[0] == _CHUNK:
                _kind, chunk, options = work
                done: Any = model.transcribe_chunk(chunk, options, heard)
            else:
                _kind, function, args = work
                done = function(model, *args)
        except Exception as exc:
            conn.send(("error", task_id, portable_error(exc)))
        else:
            conn.send(("done", task_id, done))

"""Transcribing on every core (issue 14): model processes that give the sequential run's text.

The real Whisper base model, in real processes started with "spawn"; no fake.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pilots.asr.draft import speech_model
from pilots.asr.glossary import Glossary
from pilots.asr.improve import improve_options, improve_transcript
from pilots.asr.modelfiles import resolve_model
from pilots.asr.parallel import ModelPool
from pilots.asr.postprocess import TextPipeline, load_fillers
from pilots.asr.transcribe import TranscribeOptions, Transcriber
from pilots.config import Settings
from pilots.errors import PilotsError
from tests.conftest import POSIX_ONLY, SAMPLES

MEETING = SAMPLES / "joho_rpa_weekly.flac"

pytestmark = pytest.mark.slow


def _model_processes() -> list[psutil.Process]:
    """This process's children that run a model (spawned: ``spawn_main`` in the command line)."""
    found = []
    for child in psutil.Process().children():
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(scope="module")
def pool(model_dir: Path) -> Iterator[ModelPool]:
    name, path = resolve_model("base", model_dir)
    with ModelPool(name, path, processes=2) as started:
        yield started


def test_chunks_transcribed_side_by_side_give_the_sequential_text(
    pool: ModelPool, model_dir: Path
) -> None:
    """75 s cut into chunks of at most 40 s: two processes at once, the same words and times."""
    options = TranscribeOptions(chunk_seconds=40, word_timestamps=True)
    alone = Transcriber("base", model_dir).hear(MEETING, options)
    told: list[float] = []
    together = pool.hear(MEETING, options, progress=lambda done, _total: told.append(done))
    assert max(u.start for u in alone.utterances) > 40, "the recording should span chunks"
    assert together.utterances == alone.utterances  # text, times, words, model statistics
    assert together.levels == alone.levels
    assert together.duration == alone.duration
    assert len(told) > 3 and told[-1] == pytest.approx(alone.duration)
    text = TextPipeline(fillers=load_fillers(), glossary=Glossary.load(SAMPLES / "glossary.tsv"))
    assert [(u.text, u.flags) for u in together.finish(text).utterances] == [
        (u.text, u.flags) for u in alone.finish(text).utterances
    ]

    # The second pass (issue 16) runs where the model is: in a model process, the same
    # replacements as here (「長内、ラン」 → 庁内LAN, with the same log-likelihoods).
    glossary = Glossary.load(SAMPLES / "glossary.tsv")
    options = improve_options(Settings({}), ())
    here, there = alone.finish(text), together.finish(text)
    improve_transcript(here, Transcriber("base", model_dir), glossary, options)
    improve_transcript(there, pool, glossary, options)
    assert [(i.before, i.after) for i in there.improvements] == [("長内、ラン", "庁内LAN")]
    assert there.improvements == here.improvements
    assert [(u.text, u.flags) for u in there.utterances] == [
        (u.text, u.flags) for u in here.utterances
    ]


def test_no_more_processes_than_chunks(model_dir: Path, long_meeting: Path) -> None:
    """A one-chunk meeting stays in this process; 12 minutes (two chunks) get two processes."""
    settings = Settings({"PILOTS_MODEL_DIR": str(model_dir)})
    before = {p.pid for p in _model_processes()}
    with speech_model(settings, jobs=4, recordings=[MEETING]) as model:
        assert isinstance(model, Transcriber)
        assert {p.pid for p in _model_processes()} == before
    with speech_model(settings, jobs=4, recordings=[long_meeting]) as model:
        started = [p for p in _model_processes() if p.pid not in before]
        assert model.processes == 2 and len(started) == 2
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []


@POSIX_ONLY
def test_a_killed_model_process_fails_its_recording_and_is_replaced(
    pool: ModelPool, long_meeting: Path, sample_formats: dict[str, Path]
) -> None:
    """The out-of-memory killer takes a model process: that recording fails, the next one works."""
    busy = threading.Event()
    failures: list[PilotsError] = []

    def hear() -> None:
        try:
            pool.hear(
                long_meeting, TranscribeOptions(chunk_seconds=60), progress=lambda *_: busy.set()
            )
        except PilotsError as exc:
            failures.append(exc)

    thread = threading.Thread(target=hear)
    thread.start()
    assert busy.wait(120)
    for process in _model_processes():  # both are busy with a chunk of it
        process.send_signal(signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive()
    (failure,) = failures
    assert f"{long_meeting}: 音声認識のプロセスが異常終了しました（終了コード -9）" == str(failure)
    heard = pool.hear(sample_formats["wav"])
    assert heard.utterances and heard.utterances[0].raw_text.strip()

"""Transcribing on every core (issue 14): model processes against one process, same run.

Three measurements, each ``--jobs 2`` / ``--concurrency 2`` against 1 on this machine,
every run a fresh ``pilots`` process (both include loading the model):

1. one 60-minute recording (the samples joined, built here, not committed): wall
   time and real-time factor, the characters by which the two texts differ, and
   the peak memory of all the processes together (the sum of their RSS, sampled).
   The transcription itself, as issue 14 measured its RTF 0.166: the speaker
   labels (``--speakers off``) and the second pass (``PILOTS_ASR_SECOND_PASS=0``)
   are off, steps added later that run after it on one core;
   ``PILOTS_BENCH_PARALLEL_STEPS=all`` keeps them on;
2. ten 5-minute recordings in one ``pilots asr transcribe``: throughput;
3. ``pilots worker --once`` on a queue of 8 one-minute clips (SQLite): throughput.

``PILOTS_BENCH_PARALLEL_MINUTES`` (default 60) scales all three: the long
recording's length, and a twelfth of it for each of the ten and for each clip.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.bench_asr import _duration, _join_samples, _pilots
from bench.common import Comparison

MINUTES = float(os.environ.get("PILOTS_BENCH_PARALLEL_MINUTES", "60"))
RECORDINGS = 10
CLIPS = 8
JOBS = 2


def _run_sampled(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run a command; return its wall time and the peak of its processes' summed RSS (bytes)."""
    import psutil

    peak = 0
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err_f, env=env)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            root = psutil.Process(proc.pid)
            while not done.wait(0.1):
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    return
                total = 0
                for process in tree:
                    try:
                        total += process.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
                peak = max(peak, total)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        if code:
            err_f.seek(0)
            raise RuntimeError(f"{args[2:6]} failed: {err_f.read()[-2000:]}")
    return elapsed, peak


ALL_STEPS = os.environ.get("PILOTS_BENCH_PARALLEL_STEPS", "") == "all"


def _transcribe(files: list[Path], out: Path, jobs: int, *options: str) -> list[str]:
    return _pilots(
        [
            "asr",
            "transcribe",
            *map(str, files),
            "-o",
            str(out),
            "--no-log",
            "--format",
            "txt",
            "--jobs",
            str(jobs),
            *options,
        ]
    )


def _differing_characters(a: str, b: str) -> int:
    """Characters inserted, deleted or replaced to turn ``a`` into ``b``."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def _long_recording(folder: Path) -> Comparison:
    long = folder / f"meeting-{MINUTES:g}min.flac"
    _join_samples(long, MINUTES)
    seconds = _duration(long)
    options = () if ALL_STEPS else ("--speakers", "off")
    env = dict(os.environ) if ALL_STEPS else dict(os.environ, PILOTS_ASR_SECOND_PASS="0")
    steps = "every step" if ALL_STEPS else "transcription only (no speakers, no second pass)"
    one_time, one_peak = _run_sampled(_transcribe([long], folder / "one", 1, *options), env)
    two_time, two_peak = _run_sampled(_transcribe([long], folder / "two", JOBS, *options), env)
    one_text = (folder / "one" / f"{long.stem}.txt").read_text(encoding="utf-8")
    two_text = (folder / "two" / f"{long.stem}.txt").read_text(encoding="utf-8")
    print(
        f"{seconds / 60:.0f}-minute recording, {steps}: real-time factor "
        f"{two_time / seconds:.3f} (target ≤ 0.10) with "
        f"{JOBS} processes, {one_time / seconds:.3f} with one; text differs by "
        f"{_differing_characters(one_text, two_text)} of {len(one_text):,} characters; "
        f"peak memory of all processes {two_peak / 2**20:,.0f} MiB with {JOBS}, "
        f"{one_peak / 2**20:,.0f} MiB with one",
        flush=True,
    )
    return Comparison(
        f"asr transcribe, one {seconds / 60:.0f}-minute recording, {steps}, --jobs {JOBS}",
        two_time,
        "--jobs 1",
        one_time,
        note="target ratio ≤ 0.60",
    )


def _many_recordings(folder: Path) -> Comparison:
    one = folder / "short.flac"
    _join_samples(one, MINUTES / 12)
    files = []
    for i in range(RECORDINGS):
        files.append(folder / f"meeting{i:02d}.flac")
        shutil.copyfile(one, files[-1])
    audio = sum(_duration(p) for p in files) / 60
    one_time, _ = _run_sampled(_transcribe(files, folder / "many-one", 1))
    two_time, _ = _run_sampled(_transcribe(files, folder / "many-two", JOBS))
    print(
        f"{RECORDINGS} recordings ({audio:.0f} min of audio): throughput "
        f"{one_time / two_time:.2f}x with {JOBS} processes (target ≥ 1.6x)",
        flush=True,
    )
    return Comparison(
        f"asr transcribe, {RECORDINGS} recordings of {MINUTES / 12:g} minutes, --jobs {JOBS}",
        two_time,
        "--jobs 1",
        one_time,
        note="target ratio ≤ 0.62 (throughput ≥ 1.6x)",
    )


def _fill_queue(url: str, clip: Path) -> None:
    import io

    from pilots import db
    from pilots.web import queue

    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    audio = clip.read_bytes()
    for i in range(CLIPS):
        with db.session_scope(factory) as session:
            queue.enqueue(
                session,
                queue.NewJob(original_name=f"clip{i}.flac", department=f"課{i}", title="定例"),
                io.BytesIO(audio),
            )
    engine.dispose()


def _worker(folder: Path) -> Comparison:
    clip = folder / "clip.flac"
    _join_samples(clip, MINUTES / 60)
    times = {}
    for concurrency in (1, JOBS):
        url = f"sqlite:///{folder / f'queue{concurrency}.db'}"
        _fill_queue(url, clip)
        env = dict(os.environ, PILOTS_DATA_DIR=str(folder / f"data{concurrency}"))
        worker = [sys.executable, "-m", "pilots", "--db", url, "worker", "--once", "--poll", "0.2"]
        times[concurrency], _ = _run_sampled([*worker, "--concurrency", str(concurrency)], env)
    print(
        f"worker on {CLIPS} clips of {_duration(clip) / 60:.1f} minutes: throughput "
        f"{times[1] / times[JOBS]:.2f}x with --concurrency {JOBS} (target ≥ 1.6x)",
        flush=True,
    )
    return Comparison(
        f"pilots worker --once, {CLIPS} queued clips, --concurrency {JOBS}",
        times[JOBS],
        "--concurrency 1",
        times[1],
        note="target ratio ≤ 0.62 (throughput ≥ 1.6x)",
    )


def run() -> list[Comparison]:
    """Run the three measurements; print the text difference and memory, return the timings."""
    import psutil

    print(
        f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} on "
        f"{psutil.cpu_count()} cores before the runs",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        return [_long_recording(folder), _many_recordings(folder), _worker(folder)]

"""Speech recognition: `pilots asr transcribe` against plain faster-whisper, CER, and memory.

Three measurements, all in this run on this machine:

1. wall time of ``pilots asr transcribe`` (docx + txt, no job log) against a
   plain faster-whisper script (same model folder, beam 5, VAD filter) on the
   sample meetings — each a fresh process, so both include loading the model, and
   pilots with one model process (``--jobs 1``; ``bench_parallel`` measures more);
2. character error rate per sample, with and without the sample glossary;
3. peak memory (max RSS) on a 60-minute recording made by joining the samples,
   against plain faster-whisper on the same file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from bench.common import Comparison

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "data" / "samples").glob("*.flac"))
GLOSSARY = ROOT / "data" / "samples" / "glossary.tsv"
REPEAT = 3

PLAIN = textwrap.dedent(
    """
    import sys
    from faster_whisper import WhisperModel
    model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8")
    limit = float(sys.argv[2])
    for path in sys.argv[3:]:
        segments, _ = model.transcribe(path, language="ja", beam_size=5, vad_filter=True)
        for seg in segments:
            print(seg.text)
            if seg.end > limit:
                break
    """
)


def _run_measured(args: list[str]) -> tuple[float, int, float]:
    """Run a command; return its wall time, its own peak RSS (bytes) and CPU time, via wait4."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(args, stdout=out_f, stderr=err_f, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        err_f.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{args[:4]} failed: {err_f.read()[-2000:]}")
        return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def _pilots(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "pilots", *args]


def _join_samples(target: Path, minutes: float) -> None:
    """Write a recording of ``minutes`` minutes by repeating the samples (16 kHz mono FLAC)."""
    import av

    with av.open(str(target), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=16_000, layout="mono")
        pts = 0
        while pts < minutes * 60 * 16_000:
            for sample in SAMPLES:
                with av.open(str(sample)) as inp:
                    for frame in inp.decode(audio=0):
                        frame.pts = pts
                        pts += frame.samples
                        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def run() -> list[Comparison]:
    """Run the three measurements; print CER lines, return the timing comparisons."""
    from pilots.asr.metrics import cer
    from pilots.asr.modelfiles import assemble_base
    from pilots.config import Settings

    model = assemble_base(Settings().model_dir)
    results: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = [str(p) for p in SAMPLES]
        plain_cmd = [sys.executable, "-c", PLAIN, str(model), "1e9", *files]
        pilots_cmd = _pilots(
            [
                "asr",
                "transcribe",
                *files,
                "-o",
                str(folder / "plain"),
                "--no-log",
                "--format",
                "docx",
                "--format",
                "txt",
                "--jobs",
                "1",
                "--speakers",  # plain faster-whisper has none: bench_speakers times them
                "off",
            ]
        )
        # Alternate the two, three times each, and keep each one's best: a single run on
        # two shared cores varies by ±15%, more than the difference being measured.
        plain_runs = []
        pilots_runs = []
        for _ in range(REPEAT):
            plain_runs.append(_run_measured(plain_cmd))
            pilots_runs.append(_run_measured(pilots_cmd))
        plain_time, pilots_time = min(r[0] for r in plain_runs), min(r[0] for r in pilots_runs)
        plain_cpu, pilots_cpu = min(r[2] for r in plain_runs), min(r[2] for r in pilots_runs)
        print(
            f"CPU time (user + system, best of {REPEAT}): pilots {pilots_cpu:.1f} s, "
            f"plain faster-whisper {plain_cpu:.1f} s, ratio {pilots_cpu / plain_cpu:.2f}",
            flush=True,
        )
        audio_minutes = sum(_duration(p) for p in SAMPLES) / 60
        results.append(
            Comparison(
                f"asr transcribe ({len(SAMPLES)} samples, {audio_minutes:.1f} min of audio)",
                pilots_time,
                "plain faster-whisper",
                plain_time,
                note=f"best of {REPEAT} each, alternating; both load the model; beam 5, VAD filter",
            )
        )
        _run_measured(
            _pilots(
                [
                    "asr",
                    "transcribe",
                    *files,
                    "-o",
                    str(folder / "glossary"),
                    "--no-log",
                    "--format",
                    "txt",
                    "--glossary",
                    str(GLOSSARY),
                    "--speakers",
                    "off",
                ]
            )
        )
        for sample in SAMPLES:
            reference = sample.with_suffix(".txt").read_text(encoding="utf-8")
            without = (folder / "plain" / f"{sample.stem}.txt").read_text(encoding="utf-8")
            with_glossary = (folder / "glossary" / f"{sample.stem}.txt").read_text(encoding="utf-8")
            print(
                f"CER {sample.stem}: without glossary {cer(without, reference):.3f}, "
                f"with glossary {cer(with_glossary, reference):.3f}",
                flush=True,
            )
        long = folder / "meeting-60min.flac"
        _join_samples(long, 60)
        minutes = _duration(long) / 60
        p_time, p_peak, _ = _run_measured(
            _pilots(
                [
                    "asr",
                    "transcribe",
                    str(long),
                    "-o",
                    str(folder / "long"),
                    "--no-log",
                    "--format",
                    "txt",
                    "--jobs",
                    "1",
                    "--speakers",
                    "off",
                ]
            )
        )
        # Plain faster-whisper builds the features of the whole file before the first
        # segment, so its peak is reached within the first minutes: stop after 5.
        _, b_peak, _ = _run_measured([sys.executable, "-c", PLAIN, str(model), "300", str(long)])
        print(
            f"peak memory ({minutes:.0f}-minute recording): pilots {p_peak / 2**20:,.0f} MiB "
            f"(whole file, {p_time:.0f} s, {p_time / (minutes * 60):.3f}x real time), "
            f"plain faster-whisper {b_peak / 2**20:,.0f} MiB (first 5 minutes), "
            f"ratio {p_peak / b_peak:.2f}",
            flush=True,
        )
    return results


def _duration(path: Path) -> float:
    from pilots.asr.audio import probe_duration

    return probe_duration(path) or 0.0

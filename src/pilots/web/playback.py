"""The recording in the browser: its media type, and a copy in a format every browser plays.

The correction editor plays the uploaded recording itself, served with HTTP
Range requests (seeking in a two-hour meeting fetches only the bytes around the
new position). The page asks its browser whether it can play the recording's
media type (:func:`media_type`, with the codec: ``audio/mp4; codecs="mp4a.40.2"``);
when it cannot — Windows Media Audio from an IC recorder, AMR, ADPCM … — it asks
for the playable copy, which :func:`playable_copy` makes once with PyAV (MP3,
mono, 48 kbit/s: every browser plays it and seeks in it by its bitrate) and
keeps beside the original (``<uuid>.play.mp3`` in the uploads folder). The copy
is personal data like the recording: deleting the recording deletes it too
(:func:`pilots.web.uploads.delete_recording`).
"""

from __future__ import annotations

import functools
import threading
import uuid
from pathlib import Path

from pilots.errors import InputFileError

COPY_SUFFIX = ".play.mp3"
COPY_MEDIA_TYPE = "audio/mpeg"
_COPY_RATE = 24_000
_COPY_BIT_RATE = 48_000
_LOCK = threading.Lock()  # one copy is made at a time; a second request waits for it

# PyAV's decoder → the media type browsers know it by (RFC 6381 codecs where they need one)
_CODECS = {
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "mp3float": "audio/mpeg",
    "aac": 'audio/mp4; codecs="mp4a.40.2"',
    "aac_fixed": 'audio/mp4; codecs="mp4a.40.2"',
    "alac": 'audio/mp4; codecs="alac"',
    "opus": 'audio/ogg; codecs="opus"',
    "libopus": 'audio/ogg; codecs="opus"',
    "vorbis": 'audio/ogg; codecs="vorbis"',
}
_PCM = {"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le"}


def media_type(path: Path) -> str:
    """The recording's media type as a browser's ``canPlayType`` wants it.

    A codec no browser is known to play gets ``audio/x-<codec>``, which every
    browser answers with "no": the page then asks for the playable copy.

    The recording is opened once: the answer is kept for its path, size and time
    of change, since the player asks again with every HTTP Range request (each
    seek) and a recording's format does not change.

    Raises:
        InputFileError: the file is not readable audio.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputFileError(path, f"音声ファイルとして読めません（{exc}）") from None
    return _probe(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _probe(path: Path, size: int, changed_ns: int) -> str:
    """:func:`media_type` by opening the file (``size`` and ``changed_ns`` key the cache)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            codec = container.streams.audio[0].codec_context.name
            container_name = container.format.name
    except (av.FFmpegError, IndexError, OSError) as exc:
        raise InputFileError(path, f"音声ファイルとして読めません（{exc}）") from None
    if codec in _PCM and container_name == "wav":
        return 'audio/wav; codecs="1"'
    if codec == "pcm_f32le" and container_name == "wav":
        return 'audio/wav; codecs="3"'
    if codec in ("opus", "libopus", "vorbis") and "webm" in container_name:
        return f'audio/webm; codecs="{codec.removeprefix("lib")}"'
    return _CODECS.get(codec, f"audio/x-{codec}")


def copy_path(original: Path) -> Path:
    """Where the playable copy of ``original`` is kept (beside it)."""
    return original.with_name(original.name.split(".")[0] + COPY_SUFFIX)


def playable_copy(original: Path) -> Path:
    """The MP3 copy of ``original``, made now if there is none yet (it can take a minute).

    Written under a temporary name and renamed when complete, so a copy broken
    off halfway is never served.

    Raises:
        InputFileError: the recording cannot be decoded.
    """
    target = copy_path(original)
    if target.is_file():  # made before: no waiting while another recording is converted
        return target
    with _LOCK:
        if target.is_file():  # made by the request this one waited for
            return target
        partial = original.with_name(f"{uuid.uuid4().hex}.part")
        try:
            _transcode(original, partial)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _transcode(source: Path, target: Path) -> None:
    import av

    try:
        with (
            av.open(str(source), metadata_errors="ignore") as inp,
            av.open(str(target), "w", format="mp3") as out,
        ):
            stream = out.add_stream("libmp3lame", rate=_COPY_RATE, layout="mono")
            stream.bit_rate = _COPY_BIT_RATE
            resampler = av.AudioResampler(format="s16p", layout="mono", rate=_COPY_RATE)
            for frame in inp.decode(audio=0):
                frame.pts = None
                for piece in resampler.resample(frame):
                    out.mux(stream.encode(piece))
            for piece in resampler.resample(None):
                out.mux(stream.encode(piece))
            out.mux(stream.encode(None))
    except (av.FFmpegError, OSError) as exc:
        raise InputFileError(source, f"再生用の形式に変換できません（{exc}）") from None

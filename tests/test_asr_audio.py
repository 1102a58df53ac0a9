"""Reading recordings in every container clerks bring, and refusing what is not audio."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from pilots.asr.audio import SAMPLE_RATE, iter_chunks, probe_duration
from pilots.errors import InputFileError
from tests.conftest import AUDIO_FORMATS, SAMPLES


@pytest.mark.parametrize("ext", sorted(AUDIO_FORMATS))
def test_every_format_decodes_to_the_same_length(sample_formats: dict[str, Path], ext: str) -> None:
    chunks = list(iter_chunks(sample_formats[ext]))
    total = sum(c.duration for c in chunks)
    assert total == pytest.approx(20.0, abs=0.35)  # encoder padding differs by format
    assert all(c.samples.dtype.name == "float32" for c in chunks)
    assert max(abs(c.samples).max() for c in chunks) <= 1.0
    assert probe_duration(sample_formats[ext]) == pytest.approx(total, abs=0.35)


def test_long_recording_is_cut_into_bounded_chunks_at_quiet_moments() -> None:
    path = SAMPLES / "joho_rpa_weekly.flac"
    chunks = list(iter_chunks(path, chunk_seconds=30, search_seconds=10))
    assert len(chunks) >= 3
    assert all(c.duration <= 30.0 for c in chunks)
    # contiguous: each chunk starts where the previous one ended
    for before, after in itertools.pairwise(chunks):
        assert after.offset == pytest.approx(before.offset + before.duration, abs=1 / SAMPLE_RATE)
    # cut where it is quiet: the 100 ms around each cut is far below the speech level
    import numpy as np

    for c in chunks[1:]:
        head = c.samples[: SAMPLE_RATE // 20]
        assert float(np.sqrt(np.mean(np.square(head)))) < 0.02


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "空のファイル"),
        (b"this is not audio at all" * 100, "音声ファイルとして読めません"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "読めません"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        list(iter_chunks(path))
    assert str(path) in str(info.value)


def test_video_without_audio_is_refused(tmp_path: Path) -> None:
    import av
    import numpy as np

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=5)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
    with pytest.raises(InputFileError, match="音声トラックがありません"):
        list(iter_chunks(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="ファイルがありません"):
        list(iter_chunks(tmp_path / "nope.flac"))

"""Shared fixtures: a database per test (SQLite file, and PostgreSQL when CI provides one)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from pilots import db
from pilots.asr.result import MeetingInfo, Transcript, Utterance, Word
from pilots.cli import cli

PG_URL = os.environ.get("PILOTS_TEST_DATABASE_URL", "")
POSIX_ONLY = pytest.mark.skipif(
    os.name == "nt", reason="sends POSIX signals to another process, or forks: not on Windows"
)
DATA = Path(__file__).parent / "data"


def until_a_session_waits_for_a_lock(engine: Engine) -> None:
    """Wait until a session of the test database (PostgreSQL) waits for a lock: the second
    of two transactions has come to the first's row. At most 15 s."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        for _ in range(300):
            waiting = conn.scalar(query)
            conn.rollback()  # pg_stat_activity is read once per transaction
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("no session came to wait for a lock in 15 s")


def _reset_postgresql(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgresql),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file in tmp_path, or the CI PostgreSQL, emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pilots.db'}"
    if not PG_URL:
        pytest.skip("PILOTS_TEST_DATABASE_URL is not set (CI sets it)")
    _reset_postgresql(PG_URL)
    return PG_URL


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an up-to-date schema."""
    eng = db.make_engine(db_url)
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session in one transaction, committed at the end of the test."""
    factory = db.session_factory(engine)
    with db.session_scope(factory) as s:
        yield s


class Pilots:
    """Runs the ``pilots`` command in-process against one database."""

    def __init__(self, db_url: str, cwd: Path) -> None:
        self.db_url = db_url
        self.cwd = cwd

    def __call__(self, *args: str, ok: bool = True) -> Result:
        runner = CliRunner()
        old = Path.cwd()
        os.chdir(self.cwd)
        try:
            result = runner.invoke(cli, ["--db", self.db_url, *args], catch_exceptions=False)
        finally:
            os.chdir(old)
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result


@pytest.fixture
def pilots(db_url: str, tmp_path: Path) -> Pilots:
    """Call as ``pilots("org", "list")``; asserts exit status 0 unless ``ok=False``.

    The database is created first (``pilots init``), so that no command's
    stderr carries the line that announces a new database.
    """
    runner = Pilots(db_url, tmp_path)
    runner("init")
    return runner


ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "data" / "samples"


def drafted_transcript(
    texts: list[str],
    *,
    department: str = "総務課",
    day: date = date(2019, 6, 3),
    seconds: float = 600.0,
    sha: str = "a" * 64,
    model: str = "base",
) -> Transcript:
    """A transcript of one utterance per text (10 s apart, one timed word each), as drafted."""
    return Transcript(
        audio=Path("kaigi.flac"),
        audio_sha256=sha,
        duration=seconds,
        language="ja",
        model=model,
        meeting=MeetingInfo(title="定例会", date=day, department=department),
        utterances=[
            Utterance(
                start=10.0 * i,
                end=10.0 * i + 8,
                text=t,
                raw_text=t,
                words=[Word(10.0 * i, 10.0 * i + 1, t[:2], 0.42)],
            )
            for i, t in enumerate(texts)
        ],
    )


def drafted_job(session: Session, texts: list[str], **meeting: Any) -> int:
    """The number of the job :func:`record_transcription` logs for a drafted transcript."""
    from pilots.asr.jobs import record_transcription

    transcript = drafted_transcript(texts, **meeting)
    return record_transcription(session, transcript, [], today=date(2019, 6, 3)).job_id


def _encode(
    src: Path,
    dst: Path,
    fmt: str,
    codec: str,
    rate: int,
    layout: str,
    *,
    video: bool = False,
    seconds: float = 20.0,
) -> None:
    """Re-encode the first ``seconds`` of ``src`` with PyAV (optionally beside a video track)."""
    import av
    import numpy as np

    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        formats = stream.codec_context.codec.audio_formats
        resampler = av.AudioResampler(
            format=formats[0].name if formats else "s16", layout=layout, rate=rate
        )
        vstream = None
        if video:
            vstream = out.add_stream("mpeg4", rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        for frame in inp.decode(audio=0):
            if frame.time is not None and frame.time > seconds:
                break
            for f in resampler.resample(frame):
                out.mux(stream.encode(f))
        out.mux(stream.encode(None))
        if vstream is not None:
            for i in range(int(seconds * 5)):
                picture = av.VideoFrame.from_ndarray(
                    np.zeros((64, 64, 3), np.uint8), format="rgb24"
                )
                picture.pts = i
                out.mux(vstream.encode(picture))
            out.mux(vstream.encode(None))


# name → (container, codec, sample rate, channel layout, with a video track)
AUDIO_FORMATS = {
    "wav": ("wav", "pcm_s16le", 44_100, "stereo", False),
    "mp3": ("mp3", "libmp3lame", 44_100, "stereo", False),
    "m4a": ("ipod", "aac", 48_000, "stereo", False),
    "ogg": ("ogg", "libopus", 48_000, "mono", False),
    "mp4": ("mp4", "aac", 48_000, "stereo", True),
}


@pytest.fixture(scope="session")
def sample_formats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first 20 s of a sample meeting in wav, mp3, m4a, ogg and mp4 (with video)."""
    folder = tmp_path_factory.mktemp("formats")
    src = SAMPLES / "joho_rpa_weekly.flac"
    made = {}
    for ext, (fmt, codec, rate, layout, video) in AUDIO_FORMATS.items():
        dst = folder / f"meeting.{ext}"
        _encode(src, dst, fmt, codec, rate, layout, video=video)
        made[ext] = dst
    return made


@pytest.fixture(scope="session")
def long_meeting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-minute recording (the sample meetings over and over), 16 kHz mono WAV: two chunks."""
    import wave

    import numpy as np

    from pilots.asr.audio import SAMPLE_RATE, iter_chunks

    pieces = [
        (chunk.samples * 32767).astype("<i2")
        for sample in sorted(SAMPLES.glob("*.flac"))
        for chunk in iter_chunks(sample)
    ]
    once = np.concatenate(pieces).tobytes()
    path = tmp_path_factory.mktemp("long") / "long_meeting.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while out.getnframes() < 12 * 60 * SAMPLE_RATE:
            out.writeframes(once)
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder of this test run, where `base` is assembled from the PyPI parts once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by playwright (one for the whole test run)."""
    from tests.browser import CHROMIUM

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} がありません（apt-get install chromium fonts-noto-cjk）")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab in its own context (no cookies); fails the test on a script error.

    ``bypass_csp`` lets the tests inject axe-core into pages whose CSP allows
    only the app's own scripts.
    """
    context = browser.new_context(accept_downloads=True, locale="ja-JP", bypass_csp=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], errors

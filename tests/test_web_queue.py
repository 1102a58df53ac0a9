"""The transcription queue and its workers: claim, lease, requeue, and exactly-once completion.

Every worker here runs the real Whisper base model on real clips of a few
seconds cut from ``data/samples/joho_rpa_weekly.flac``; no fake transcriber.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from pilots import db
from pilots.config import Settings
from pilots.tables import AsrJob, WebJob, WebJobAudio, WebJobOutput
from pilots.web import queue
from pilots.web.worker import Worker
from tests.conftest import PG_URL, SAMPLES, _reset_postgresql

ROOT = Path(__file__).parent.parent


def cut_clip(dst: Path, start: float, seconds: float = 3.0) -> Path:
    """``seconds`` of the sample meeting from ``start``, as 16 kHz mono WAV (PyAV)."""
    import av

    with (
        av.open(str(SAMPLES / "joho_rpa_weekly.flac")) as inp,
        av.open(str(dst), "w", format="wav") as out,
    ):
        stream = out.add_stream("pcm_s16le", rate=16_000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        inp.seek(int(start * 1_000_000))
        for frame in inp.decode(audio=0):
            if frame.time is not None and frame.time < start:
                continue
            if frame.time is not None and frame.time > start + seconds:
                break
            for f in resampler.resample(frame):
                out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight different 3-second clips (different audio, so eight different jobs in the log)."""
    folder = tmp_path_factory.mktemp("clips")
    return [cut_clip(folder / f"clip{i}.wav", 6.0 + 3.0 * i) for i in range(8)]


def _factory(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


def _enqueue(factory: sessionmaker[Session], audio: bytes, name: str = "会議.wav") -> int:
    with db.session_scope(factory) as session:
        return queue.enqueue(
            session,
            queue.NewJob(original_name=name, department="総務課", title="定例"),
            io.BytesIO(audio),
        )


def test_enqueue_stores_the_recording_in_chunks(engine: Engine) -> None:
    factory = _factory(engine)
    audio = os.urandom(queue.CHUNK_BYTES * 2 + 123)
    job_id = _enqueue(factory, audio)
    with db.session_scope(factory) as session:
        job = session.get(WebJob, job_id)
        assert job is not None
        assert (job.state, job.size_bytes, job.attempts) == ("queued", len(audio), 0)
        assert session.scalar(select(func.count()).select_from(WebJobAudio)) == 3
        assert b"".join(queue.audio_chunks(session, job_id)) == audio


def test_claim_takes_each_job_once_then_nothing(engine: Engine) -> None:
    factory = _factory(engine)
    ids = [_enqueue(factory, b"x" * 10) for _ in range(3)]
    claimed = []
    for worker in ("a", "b", "a", "b"):
        with db.session_scope(factory) as session:
            claim = queue.claim(session, worker)
        claimed.append(claim)
    assert [c.job_id for c in claimed if c] == ids
    assert claimed[3] is None
    with db.session_scope(factory) as session:
        states = {j.id: (j.state, j.worker, j.attempts) for j in session.scalars(select(WebJob))}
    assert states == {ids[0]: ("running", "a", 1), ids[1]: ("running", "b", 1),
                      ids[2]: ("running", "a", 1)}  # fmt: skip


def test_complete_stores_outputs_and_drops_the_audio(engine: Engine) -> None:
    factory = _factory(engine)
    job_id = _enqueue(factory, b"audio")
    with db.session_scope(factory) as session:
        claim = queue.claim(session, "w1")
    assert claim is not None
    with db.session_scope(factory) as session:
        assert queue.heartbeat(session, claim, 0.5)
        assert queue.still_held(session, claim)
        assert queue.complete(session, claim, {"txt": "本文".encode()}, None)
    with db.session_scope(factory) as session:
        job = session.get(WebJob, job_id)
        assert job is not None and job.state == "done" and job.progress == 1.0
        assert queue.output(session, job_id, "txt") == "本文".encode()
        assert queue.output_formats(session, [job_id]) == {job_id: ["txt"]}
        assert session.scalar(select(func.count()).select_from(WebJobAudio)) == 0
        # Done is final: the same claim cannot finish it again.
        assert not queue.complete(session, claim, {"txt": b"again"}, None)
        assert not queue.fail(session, claim, "x")


def test_a_dead_workers_job_goes_back_to_the_queue_and_its_result_is_refused(
    engine: Engine,
) -> None:
    factory = _factory(engine)
    job_id = _enqueue(factory, b"audio")
    with db.session_scope(factory) as session:
        dead = queue.claim(session, "dead")
    assert dead is not None
    with db.session_scope(factory) as session:  # its last heartbeat was a minute ago
        minute_ago = db.db_now(session) - timedelta(seconds=60)
        session.execute(update(WebJob).values(heartbeat_at=minute_ago))
    with db.session_scope(factory) as session:
        fresh = queue.requeue_stale(session, stale_seconds=120, max_attempts=3)
        assert fresh.requeued == [] and fresh.failed == []
        stale = queue.requeue_stale(session, stale_seconds=30, max_attempts=3)
        assert stale.requeued == [job_id]
    with db.session_scope(factory) as session:
        alive = queue.claim(session, "alive")
    assert alive is not None and alive.attempt == 2
    with db.session_scope(factory) as session:
        # The presumed-dead worker comes back: its lease is gone, nothing it does counts.
        assert not queue.heartbeat(session, dead)
        assert not queue.still_held(session, dead)
        assert not queue.complete(session, dead, {"txt": b"late"}, None)
        assert queue.complete(session, alive, {"txt": b"on time"}, None)
    with db.session_scope(factory) as session:
        assert queue.output(session, job_id, "txt") == b"on time"


def test_a_job_that_keeps_killing_workers_fails_after_max_attempts(engine: Engine) -> None:
    factory = _factory(engine)
    job_id = _enqueue(factory, b"audio")
    for attempt in (1, 2):
        with db.session_scope(factory) as session:
            claim = queue.claim(session, f"w{attempt}")
            assert claim is not None and claim.attempt == attempt
        with db.session_scope(factory) as session:
            old = db.db_now(session) - timedelta(seconds=600)
            session.execute(update(WebJob).values(heartbeat_at=old))
            result = queue.requeue_stale(session, stale_seconds=60, max_attempts=2)
        assert (result.requeued, result.failed) == (
            ([job_id], []) if attempt == 1 else ([], [job_id])
        )
    with db.session_scope(factory) as session:
        job = session.get(WebJob, job_id)
        assert job is not None and job.state == "failed" and "2回" in (job.error or "")


def test_release_gives_the_job_back_without_using_an_attempt(engine: Engine) -> None:
    factory = _factory(engine)
    _enqueue(factory, b"audio")
    with db.session_scope(factory) as session:
        claim = queue.claim(session, "w")
        assert claim is not None
        assert queue.release(session, claim)
    with db.session_scope(factory) as session:
        again = queue.claim(session, "w2")
        assert again is not None and again.attempt == 1


@pytest.mark.slow
def test_worker_transcribes_a_queued_recording(
    engine: Engine, clips: list[Path], model_dir: Path, tmp_path: Path
) -> None:
    factory = _factory(engine)
    good = _enqueue(factory, clips[0].read_bytes(), "定例会議.wav")
    bad = _enqueue(factory, b"this is not audio at all\n" * 10, "偽物.wav")
    settings = Settings(
        {
            "PILOTS_MODEL_DIR": str(model_dir),
            "PILOTS_DATA_DIR": str(tmp_path / "data"),
            "PILOTS_WORKER_STALE_SECONDS": "2",
        }
    )
    lines: list[str] = []
    worker = Worker(factory, settings, name="test-worker", log=lines.append)
    assert worker.run(once=True) == 2
    with db.session_scope(factory) as session:
        done = session.get(WebJob, good)
        failed = session.get(WebJob, bad)
        assert done is not None and failed is not None
        assert done.state == "done" and done.asr_job_id is not None
        assert failed.state == "failed" and "音声" in (failed.error or "")
        asr = session.get(AsrJob, done.asr_job_id)
        assert asr is not None and asr.department is not None
        assert asr.department.name == "総務課" and asr.title == "定例"
        assert sorted(queue.output_formats(session, [good])[good]) == ["docx", "md", "srt", "txt"]
        txt = queue.output(session, good, "txt")
        assert txt and txt.decode("utf-8").strip()
    assert any(f"ジョブ #{good}: 完了" in line for line in lines)
    assert any(f"ジョブ #{bad}: 失敗" in line for line in lines)


@pytest.mark.slow
def test_a_worker_with_concurrency_2_runs_two_jobs_at_once_and_each_once(
    engine: Engine, clips: list[Path], model_dir: Path, tmp_path: Path
) -> None:
    """Eight clips, one worker with two loops and two model processes: all done, each once."""
    factory = _factory(engine)
    ids = [_enqueue(factory, clip.read_bytes(), clip.name) for clip in clips]
    settings = Settings(
        {"PILOTS_MODEL_DIR": str(model_dir), "PILOTS_DATA_DIR": str(tmp_path / "data")}
    )
    lines: list[str] = []
    worker = Worker(factory, settings, name="w", log=lines.append, concurrency=2)
    assert worker.run(once=True) == len(ids)
    done = Counter(int(n) for line in lines for n in re.findall(r"ジョブ #(\d+): 完了", line))
    assert sorted(done) == ids and set(done.values()) == {1}, lines
    with db.session_scope(factory) as session:
        jobs = list(session.scalars(select(WebJob).order_by(WebJob.id)))
        assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * len(ids)
        assert len({j.asr_job_id for j in jobs}) == len(ids)
        assert session.scalar(select(func.count()).select_from(AsrJob)) == len(ids)
        assert session.scalar(select(func.count()).select_from(WebJobOutput)) == 4 * len(ids)
        spans = [(j.claimed_at, j.finished_at) for j in jobs]
    # Two at once: some job was claimed while another was still running.
    assert any(
        a_start < b_end and b_start < a_end
        for i, (a_start, a_end) in enumerate(spans)
        for b_start, b_end in spans[i + 1 :]
    ), spans


@pytest.mark.slow
def test_the_speakers_asked_for_reach_the_jobs_drafts(
    engine: Engine, model_dir: Path, tmp_path: Path
) -> None:
    """20 s of the meeting (課長, then 主査), queued twice: two speakers asked for, and none.

    The job's json draft, which the correction editor reads, carries "speaker" on every
    segment either way."""
    factory = _factory(engine)
    audio = cut_clip(tmp_path / "two.wav", 0.0, 20.0).read_bytes()
    with db.session_scope(factory) as session:
        two, off = (
            queue.enqueue(
                session,
                queue.NewJob(f"{name}.wav", department=name, formats=("txt", "json"), speakers=n),
                io.BytesIO(audio),
            )
            for name, n in (("二人", "2"), ("なし", "off"))
        )
    settings = Settings(
        {"PILOTS_MODEL_DIR": str(model_dir), "PILOTS_DATA_DIR": str(tmp_path / "data")}
    )
    assert Worker(factory, settings, name="speakers").run(once=True) == 2
    with db.session_scope(factory) as session:
        drafts = {
            job: (json.loads(queue.output(session, job, "json") or b"{}"),
                  (queue.output(session, job, "txt") or b"").decode("utf-8"))
            for job in (two, off)
        }  # fmt: skip
    data, txt = drafts[two]
    assert [s["label"] for s in data["metadata"]["speakers"]] == ["話者1", "話者2"]
    assert [s["speaker"] for s in data["segments"]][:2] == ["話者1", "話者2"]
    assert txt.startswith("話者1：")
    data, txt = drafts[off]
    assert data["segments"] and all(s["speaker"] is None for s in data["segments"])
    assert "話者" not in txt


@pytest.mark.slow
def test_heartbeats_keep_a_long_job_from_being_requeued(
    engine: Engine, model_dir: Path, tmp_path: Path
) -> None:
    """A 2 s lease, renewed every 0.5 s while the model works on 20 s of audio: nobody steals it."""
    factory = _factory(engine)
    job_id = _enqueue(factory, cut_clip(tmp_path / "long.wav", 0.0, 20.0).read_bytes())
    env = {
        "PILOTS_MODEL_DIR": str(model_dir),
        "PILOTS_DATA_DIR": str(tmp_path / "data"),
        "PILOTS_WORKER_STALE_SECONDS": "2",
    }
    first = Worker(factory, Settings(env), name="first")
    first._model()  # loaded before the clock starts: the lease covers the transcription
    thief = Worker(factory, Settings(env), name="thief")
    thread = threading.Thread(target=first.run_one)
    started = time.monotonic()
    thread.start()
    while thread.is_alive():  # the thief starts once the first worker holds the job
        with db.session_scope(factory) as session:
            if session.scalar(select(WebJob.worker).where(WebJob.id == job_id)) == "first":
                break
        time.sleep(0.05)
    stolen = []
    while thread.is_alive():
        stolen.append(thief.run_one())
        time.sleep(0.3)
    thread.join()
    assert time.monotonic() - started > 2, "the job should outlast its lease"
    assert all(s is None for s in stolen)
    with db.session_scope(factory) as session:
        job = session.get(WebJob, job_id)
        assert job is not None and (job.state, job.worker, job.attempts) == ("done", "first", 1)


@pytest.mark.postgresql
@pytest.mark.slow
def test_two_worker_processes_share_one_postgresql_queue_exactly_once(
    clips: list[Path], model_dir: Path, tmp_path: Path
) -> None:
    """Two ``pilots worker`` processes, one queue of eight real clips: each done exactly once."""
    if not PG_URL:
        pytest.skip("PILOTS_TEST_DATABASE_URL is not set (CI sets it)")
    _reset_postgresql(PG_URL)
    engine = db.make_engine(PG_URL)
    db.upgrade(engine)
    factory = _factory(engine)
    ids = [_enqueue(factory, clip.read_bytes(), clip.name) for clip in clips]
    from pilots.asr.modelfiles import resolve_model

    resolve_model("base", model_dir)  # assembled once, before two processes look for it
    env = dict(
        os.environ,
        PILOTS_MODEL_DIR=str(model_dir),
        PILOTS_ASR_THREADS="1",
        PILOTS_WORKER_CONCURRENCY="1",
        PILOTS_DATA_DIR=str(tmp_path / "data"),
    )
    pilots = [sys.executable, "-m", "pilots", "--db", PG_URL, "worker", "--once", "--poll", "0.2"]
    procs = [
        subprocess.Popen(pilots, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = [[int(n) for n in re.findall(r"ジョブ #(\d+): 完了", out)] for out in outputs]
    counts = Counter(done[0] + done[1])
    assert sorted(counts) == ids, outputs
    assert set(counts.values()) == {1}, outputs
    assert done[0] and done[1], "both workers should have taken jobs"
    with db.session_scope(factory) as session:
        jobs = list(session.scalars(select(WebJob).order_by(WebJob.id)))
        assert [(j.state, j.attempts) for j in jobs] == [("done", 1)] * len(ids)
        assert len({j.asr_job_id for j in jobs}) == len(ids)
        assert session.scalar(select(func.count()).select_from(AsrJob)) == len(ids)
        assert session.scalar(select(func.count()).select_from(WebJobOutput)) == 4 * len(ids)
    engine.dispose()


# --- issue 10: one job per recording sent twice; silent recordings ------------------------


def _enqueue_once(
    factory: sessionmaker[Session], audio: bytes, department: str, *, hold: float = 0.0
) -> tuple[int, bool]:
    """Enqueue as the 議事録作成 page does: (job, True), or (the earlier job, False)."""
    import hashlib

    from pilots.tables import WebUpload

    digest = hashlib.sha256(audio).hexdigest()
    with db.session_scope(factory) as session:
        same = queue.recent_duplicate(session, digest, department, minutes=10)
        if same is not None:
            return same, False
        upload = WebUpload(
            stored_name=os.urandom(16).hex() + ".audio",
            original_name="会議.wav",
            kind="audio",
            purpose="minutes",
            size_bytes=len(audio),
            sha256=digest,
        )
        session.add(upload)
        session.flush()
        job_id = queue.enqueue(
            session,
            queue.NewJob(original_name="会議.wav", department=department, upload_id=upload.id),
            io.BytesIO(audio),
        )
        time.sleep(hold)  # still uncommitted: a second request arrives meanwhile
    return job_id, True


def test_the_same_recording_sent_twice_at_once_is_one_job(engine: Engine) -> None:
    factory = _factory(engine)
    audio = b"RIFF" + os.urandom(4096)
    results: list[tuple[int, bool]] = []
    first = threading.Thread(
        target=lambda: results.append(_enqueue_once(factory, audio, "総務課", hold=1.0))
    )
    first.start()
    time.sleep(0.3)  # the first request is inside its transaction
    results.append(_enqueue_once(factory, audio, "総務課"))
    first.join()
    assert sorted(created for _job, created in results) == [False, True]
    assert results[0][0] == results[1][0]
    with db.session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(WebJob)) == 1
    # A failed job is no reason to refuse the file again: that is how to retry it.
    with db.session_scope(factory) as session:
        session.execute(update(WebJob).values(state=queue.FAILED))
    assert _enqueue_once(factory, audio, "総務課")[1] is True
    # Nor is an old one, or another department's.
    assert _enqueue_once(factory, audio, "人事課")[1] is True
    with db.session_scope(factory) as session:
        session.execute(update(WebJob).values(created_at=db.db_now(session) - timedelta(hours=1)))
    assert _enqueue_once(factory, audio, "総務課")[1] is True


def _silence(path: Path, seconds: float = 10.0) -> Path:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(bytes(2 * int(16_000 * seconds)))
    return path


@pytest.mark.slow
def test_a_silent_recording_is_flagged_and_not_counted_as_usage(
    engine: Engine, model_dir: Path, tmp_path: Path
) -> None:
    from datetime import date

    import docx

    from pilots.asr.jobs import list_jobs
    from pilots.asr.measure import summarize
    from pilots.calendar import period

    factory = _factory(engine)
    with db.session_scope(factory) as session:
        job_id = queue.enqueue(
            session,
            queue.NewJob(original_name="無音.wav", department="総務課", title="録音ミス",
                         meeting_date=date(2019, 7, 1), formats=("docx", "md", "txt")),
            io.BytesIO(_silence(tmp_path / "silence.wav").read_bytes()),
        )  # fmt: skip
    settings = Settings(
        {"PILOTS_MODEL_DIR": str(model_dir), "PILOTS_DATA_DIR": str(tmp_path / "data")}
    )
    lines: list[str] = []
    assert Worker(factory, settings, name="w", log=lines.append).run(once=True) == 1
    assert any("音声が検出されませんでした" in line for line in lines), lines
    with db.session_scope(factory) as session:
        job = session.get(WebJob, job_id)
        assert job is not None and job.state == "done" and job.asr_job_id is not None
        asr = session.get(AsrJob, job.asr_job_id)
        assert asr is not None and asr.no_speech
        draft = queue.output(session, job_id, "docx")
        markdown = queue.output(session, job_id, "md")
        assert draft and markdown
        summary = summarize(session, period(2019, "final"), default_rate=4.0)
        (listed,) = list_jobs(session, default_rate=4.0)
    (tmp_path / "draft.docx").write_bytes(draft)
    body = "\n".join(p.text for p in docx.Document(str(tmp_path / "draft.docx")).paragraphs)
    assert "【要確認: 音声が検出されませんでした" in body
    assert "【要確認: 音声が検出されませんでした" in markdown.decode("utf-8")
    assert listed.no_speech
    assert (summary.jobs, summary.departments_using, summary.audio_hours) == (0, 0, 0)
    (excluded,) = summary.excluded
    assert excluded.department == "総務課" and "音声が検出されなかった" in excluded.reason
    assert "音声が検出されなかった録音1件" in summary.rules["departments_using"]

"""`pilots asr transcribe` end to end with the real Whisper base model on a real recording."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import docx
import psutil
import pytest
from sqlalchemy import select

from pilots import db
from pilots.asr.metrics import cer
from pilots.tables import AsrJob
from tests.conftest import POSIX_ONLY, SAMPLES, Pilots

MEETING = SAMPLES / "joho_rpa_weekly.flac"
REFERENCE = MEETING.with_suffix(".txt").read_text(encoding="utf-8")
GLOSSARY = SAMPLES / "glossary.tsv"


@pytest.fixture
def env_models(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PILOTS_MODEL_DIR", str(model_dir))
    return model_dir


def _jobs(db_url: str) -> list[AsrJob]:
    engine = db.make_engine(db_url)
    db.upgrade(engine)  # a --no-log run never opens the database
    with db.session_scope(db.session_factory(engine)) as s:
        jobs = list(s.scalars(select(AsrJob).order_by(AsrJob.id)))
        for j in jobs:
            _ = j.department.name if j.department else None
            _ = j.draft_json  # deferred: the draft's segments are loaded only when asked for
    engine.dispose()
    return jobs


def test_transcribe_meeting_to_every_format_and_log_the_job(
    pilots: Pilots, db_url: str, tmp_path: Path, env_models: Path
) -> None:
    out = tmp_path / "drafts"
    result = pilots(
        "asr",
        "transcribe",
        str(MEETING),
        "-o",
        str(out),
        "--format",
        "docx",
        "--format",
        "md",
        "--format",
        "txt",
        "--format",
        "srt",
        "--format",
        "vtt",
        "--format",
        "json",
        "--dept",
        "ＩＴ・業務改革課",
        "--title",
        "RPA定例会議",
        "--date",
        "令和元年7月10日",
        "--glossary",
        str(GLOSSARY),
    )
    assert "ジョブ #1" in result.output
    assert "所属「ＩＴ・業務改革課」を新規登録" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        f"joho_rpa_weekly.{e}" for e in sorted(["docx", "json", "md", "srt", "txt", "vtt"])
    ]

    # txt: the plain transcript, Japanese with punctuation, close to what was said
    txt = (out / "joho_rpa_weekly.txt").read_text(encoding="utf-8")
    lines = txt.splitlines()
    assert len(lines) >= 5
    assert not any(line.startswith("[") for line in lines)  # no timestamps
    assert "会議名" not in txt  # no header
    assert sum(line.endswith("。") for line in lines) >= len(lines) // 2
    assert cer(txt, REFERENCE) < 0.25

    # docx opens in Word's format with the header block and timed paragraphs
    document = docx.Document(str(out / "joho_rpa_weekly.docx"))
    text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells
    )
    assert "RPA定例会議" in text and "令和元年7月10日" in text
    assert "[00:00:0" in text

    # json: segments with words and the metadata of the job
    data = json.loads((out / "joho_rpa_weekly.json").read_text(encoding="utf-8"))
    assert data["metadata"]["model"] == "base"
    assert data["metadata"]["duration"] == pytest.approx(74.77, abs=0.1)
    assert data["segments"] and data["segments"][0]["words"]
    # The second pass (on by default) let the model check the glossary's terms on the audio:
    # 「長内、ラン」 of the first pass is 庁内LAN, recorded with the two log-likelihoods.
    assert any(step.startswith("第2パス（置換 1件") for step in data["metadata"]["steps"])
    [improved] = [i for i in data["metadata"]["improvements"] if i["kind"] == "second_pass"]
    assert (improved["before"], improved["after"]) == ("長内、ラン", "庁内LAN")
    assert "対数尤度" in improved["reason"]
    assert "庁内LAN" in txt

    # the job: department matched by NFKC, audio length, model, outputs, SHA-256
    (job,) = _jobs(db_url)
    assert job.department is not None and job.department.name == "ＩＴ・業務改革課"
    assert job.title == "RPA定例会議"
    assert str(job.meeting_date) == "2019-07-10"
    assert job.audio_seconds == pytest.approx(74.77, abs=0.1)
    assert job.model == "base" and job.processing_seconds and job.processing_seconds > 0
    assert len(json.loads(job.outputs)) == 6
    assert job.correction_minutes is None

    # running the same recording again updates its job instead of adding one
    again = pilots(
        "asr",
        "transcribe",
        str(MEETING),
        "-o",
        str(out),
        "--format",
        "txt",
        "--dept",
        "IT・業務改革課",
    )
    assert "ジョブ #1（更新）" in again.output
    (job,) = _jobs(db_url)
    # Without a json draft asked for, the job still keeps the words with their timings and
    # probabilities: the correction editor marks the uncertain ones from them.
    segments = json.loads(job.draft_json or "[]")
    words = [w for segment in segments for w in segment["words"]]
    assert len(words) > 50 and all(0 <= w["probability"] <= 1 for w in words)


def test_batch_with_a_bad_file_goes_on_and_fails_at_the_end(
    pilots: Pilots, db_url: str, tmp_path: Path, env_models: Path, sample_formats: dict[str, Path]
) -> None:
    broken = tmp_path / "broken.m4a"
    broken.write_bytes(b"\x00\x00\x00\x18ftypM4A " + os.urandom(2000))
    out = tmp_path / "out"
    result = pilots(
        "asr",
        "transcribe",
        str(broken),
        str(sample_formats["mp4"]),
        "-o",
        str(out),
        "--format",
        "txt",
        "--no-log",
        ok=False,
    )
    assert result.exit_code == 1
    assert f"エラー: {broken}" in result.stderr
    assert "2件中 1件が失敗しました" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["meeting.txt"]  # nothing for the broken one
    assert _jobs(db_url) == []  # --no-log


def test_a_batch_on_two_processes_with_a_corrupt_file_in_the_middle(
    pilots: Pilots, db_url: str, tmp_path: Path, env_models: Path, sample_formats: dict[str, Path]
) -> None:
    """--jobs 2: the good recordings are drafted and logged, in the order given, as one by one."""
    broken = tmp_path / "broken.m4a"
    broken.write_bytes(b"\x00\x00\x00\x18ftypM4A " + os.urandom(2000))
    second = tmp_path / "second.mp3"
    second.write_bytes(sample_formats["mp3"].read_bytes())
    out = tmp_path / "out"
    given = [sample_formats["wav"], broken, second]
    result = pilots(
        "asr", "transcribe", *map(str, given), "-o", str(out), "--format", "txt", "--jobs", "2",
        ok=False,
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"エラー: {broken}" in result.stderr
    assert "3件中 1件が失敗しました" in result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(given[0]), str(second)]
    assert "ジョブ #1" in lines[0] and "ジョブ #2" in lines[1]
    assert sorted(p.name for p in out.iterdir()) == ["meeting.txt", "second.txt"]
    jobs = _jobs(db_url)
    assert [json.loads(job.outputs) for job in jobs] == [
        [str(out / "meeting.txt")],
        [str(out / "second.txt")],
    ]
    assert (out / "meeting.txt").read_text(encoding="utf-8").strip()


def test_fillers_keep_and_remove(pilots: Pilots, tmp_path: Path, env_models: Path) -> None:
    pilots(
        "asr",
        "transcribe",
        str(MEETING),
        "-o",
        str(tmp_path / "keep"),
        "--format",
        "txt",
        "--fillers",
        "keep",
        "--no-log",
    )
    pilots(
        "asr",
        "transcribe",
        str(MEETING),
        "-o",
        str(tmp_path / "remove"),
        "--format",
        "txt",
        "--no-log",
    )
    kept = (tmp_path / "keep" / "joho_rpa_weekly.txt").read_text(encoding="utf-8")
    removed = (tmp_path / "remove" / "joho_rpa_weekly.txt").read_text(encoding="utf-8")
    assert any(f in kept for f in ("えー", "あのー", "えーと", "まあ"))
    assert not any(f"{f}、" in removed for f in ("えー", "あのー", "えーと"))
    assert len(removed) < len(kept)


def test_model_not_on_this_machine(pilots: Pilots, tmp_path: Path, env_models: Path) -> None:
    result = pilots("asr", "transcribe", str(MEETING), "--model", "large-v3", ok=False)
    assert result.exit_code == 1
    assert "モデル「large-v3」はこのPCにありません" in result.stderr


def test_models_command_lists_base(pilots: Pilots, env_models: Path) -> None:
    from pilots.asr.modelfiles import assemble_base

    assemble_base(env_models)
    listing = json.loads(pilots("asr", "models", "--json").output)
    assert listing[0]["name"] == "base" and listing[0]["verified"] is True


@POSIX_ONLY
@pytest.mark.parametrize("jobs", [1, 2], ids=["one process", "two processes"])
@pytest.mark.parametrize(
    ("how", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_ctrl_c_leaves_no_output_files(
    tmp_path: Path,
    model_dir: Path,
    long_meeting: Path,
    how: signal.Signals,
    status: int,
    jobs: int,
) -> None:
    """Interrupt a transcription once it reports progress: no draft, no job, no child process.

    SIGTERM (a service manager, ``kill``) stops it just as Ctrl-C (SIGINT) does; Ctrl-C
    reaches every process of the terminal's foreground group, SIGTERM pilots alone. With two
    processes, a 12-minute recording is two chunks transcribed at once.
    """
    out = tmp_path / "out"
    url = f"sqlite:///{tmp_path / 'p.db'}"
    env = dict(os.environ, PILOTS_MODEL_DIR=str(model_dir))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pilots",
            "--db",
            url,
            "asr",
            "transcribe",
            str(MEETING if jobs == 1 else long_meeting),
            "-o",
            str(out),
            "--format",
            "docx",
            "--format",
            "txt",
            "--progress",
            "--jobs",
            str(jobs),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        # A shell that starts a job in the background ignores SIGINT for it, and an ignored
        # signal stays ignored across exec: give the child the terminal's default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"[" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.read1(256)  # type: ignore[attr-defined]
    children = psutil.Process(proc.pid).children(recursive=True)
    models = [c for c in children if any("spawn_main" in part for part in c.cmdline())]
    assert len(models) == (0 if jobs == 1 else 2)  # besides them, multiprocessing's tracker
    if how == signal.SIGINT:
        os.killpg(proc.pid, how)
    else:
        proc.send_signal(how)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err.decode()
    told = (seen + err).decode()
    assert "中断しました" in told
    # Nothing else: no traceback, no warning from a model process or from multiprocessing.
    others = [line for line in told.replace("\r", "\n").splitlines() if "[" not in line]
    assert [line for line in others if line.strip()] in ([], ["中断しました"])
    assert not out.exists() or list(out.iterdir()) == []
    assert _jobs(url) == []
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []

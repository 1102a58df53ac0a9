"""Correction editor: opening a 2-hour meeting, saves with 20 editors at once, seeking.

A real ``pilots serve`` process (single-user mode, no worker) on loopback, over a
database with a 2-hour meeting (2,000 utterances with word timings, the sample
references' sentences repeated) and a 2-hour MP3 recording made from the samples:

1. **opening**: the editor page's server time (best of 5, after the first open that
   makes the document from the draft) against the plain 議事録作成 page, and its first
   paint in Debian's chromium against the same HTML served as a static file (targets:
   ≤ 1 s each);
2. **saving**: 20 editors, each on a job of their own, save a typed correction every
   ~0.2 s at once; the 95th percentile of a save's round trip (target ≤ 100 ms) against
   the job-status request of the 議事録作成 page under the same load; on SQLite, and on
   PostgreSQL when ``PILOTS_BENCH_DATABASE_URL`` or ``PILOTS_TEST_DATABASE_URL`` names
   one (its schema is emptied first; said when skipped);
3. **seeking**: from the time the player is told to play at a random point of the
   2-hour recording to the ``playing`` event (target ≤ 0.5 s), best and 95th percentile
   of 10 seeks, against the same file opened from disk (``file://``, no HTTP).
"""

from __future__ import annotations

import http.server
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path

from bench.common import Comparison

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "data" / "samples").glob("*.flac"))
STATIC = ROOT / "src" / "pilots" / "web" / "static"
CHROMIUM = "/usr/bin/chromium"
UTTERANCES = 2000
HOURS = 2.0
EDITORS = 20
SAVES_EACH = 40


def _recording(path: Path) -> None:
    """A 2-hour mono MP3 (48 kbit/s) made by repeating the sample meetings."""
    import av

    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=24_000, layout="mono")
        stream.bit_rate = 48_000
        resampler = av.AudioResampler(format="s16p", layout="mono", rate=24_000)
        done = 0.0
        while done < HOURS * 3600:
            for sample in SAMPLES:
                with av.open(str(sample)) as inp:
                    for frame in inp.decode(audio=0):
                        frame.pts = None
                        for piece in resampler.resample(frame):
                            out.mux(stream.encode(piece))
                        done += frame.samples / frame.sample_rate
        out.mux(stream.encode(None))


def _segments() -> list[dict[str, object]]:
    """2,000 utterances over two hours, with word timings and probabilities."""
    rng = random.Random(12)
    sentences = [
        line.strip()
        for sample in SAMPLES
        for line in sample.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    length = HOURS * 3600 / UTTERANCES
    found = []
    for index in range(UTTERANCES):
        text = sentences[index % len(sentences)]
        start = index * length
        words = []
        for k in range(0, len(text), 3):
            words.append({"start": start + k * 0.1, "end": start + k * 0.1 + 0.3,
                          "text": text[k:k + 3], "probability": rng.random()})  # fmt: skip
        flags = (
            [{"kind": "low_logprob", "reason": "認識の確からしさが低い箇所"}]
            if index % 50 == 0
            else []
        )
        speaker = f"話者{index % 4 + 1}"
        found.append({"start": start, "end": start + length - 0.2, "text": text,
                      "words": words, "flags": flags, "speaker": speaker})  # fmt: skip
    return found


def _database(url: str, data_dir: Path, recording: Path, jobs: int) -> list[int]:
    """``jobs`` finished web jobs of the 2-hour meeting, each with its own upload; their ids."""
    from pilots import db
    from pilots.tables import AsrJob, WebJob, WebUpload

    engine = db.make_engine(url)
    db.upgrade(engine)
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    draft = json.dumps(_segments(), ensure_ascii=False)
    ids = []
    with db.session_scope(db.session_factory(engine)) as session:
        for n in range(jobs):
            stored = f"{n:032x}.audio"
            target = uploads / stored
            if n == 0:
                shutil.copy(recording, target)
            else:
                os.link(uploads / f"{0:032x}.audio", target)
            upload = WebUpload(stored_name=stored, original_name="2時間の会議.mp3", kind="audio",
                               purpose="minutes", size_bytes=recording.stat().st_size,
                               sha256=f"{n:064x}")  # fmt: skip
            asr = AsrJob(source="pilots", title=f"定例{n}", meeting_date=date(2020, 2, 14),
                         audio_seconds=HOURS * 3600, outputs="[]", draft_json=draft,
                         audio_sha256=f"{n:064x}")  # fmt: skip
            session.add_all([upload, asr])
            session.flush()
            job = WebJob(state="done", upload_id=upload.id, original_name="2時間の会議.mp3",
                         department="総務課", title=f"定例{n}", audio_seconds=HOURS * 3600,
                         asr_job_id=asr.id, created_at=db.db_now(session),
                         finished_at=db.db_now(session))  # fmt: skip
            session.add(job)
            session.flush()
            ids.append(job.id)
    engine.dispose()
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _serve(url: str, folder: Path) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PILOTS_DATA_DIR=str(folder / "data"))
    env.pop("PILOTS_DATABASE_URL", None)
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pilots", "--db", url, "serve", "--port", str(port), "--no-worker"],
        env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + "/login", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def _fetch_seconds(url: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
        best = min(best, time.perf_counter() - started)
    return best


@contextmanager
def _static_server(folder: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            return  # the page's script tries to save here: not the point

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _first_paint(page: object, url: str) -> float:
    page.goto(url, wait_until="load")  # type: ignore[attr-defined]
    paint: float = page.evaluate(  # type: ignore[attr-defined]
        "() => performance.getEntriesByType('paint')"
        ".filter(e => e.name === 'first-contentful-paint')[0].startTime / 1000"
    )
    return paint


def _opening(base: str, job: int, folder: Path, browser: object) -> list[Comparison]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"{base}/minutes/{job}/edit", timeout=120) as response:
        html = response.read()
    first_open = time.perf_counter() - started
    server = _fetch_seconds(f"{base}/minutes/{job}/edit")
    plain = _fetch_seconds(f"{base}/minutes")
    static = folder / "static-site"
    (static / "minutes" / str(job)).mkdir(parents=True)
    (static / "minutes" / str(job) / "edit.html").write_bytes(html)
    shutil.copytree(STATIC, static / "static")
    page = browser.new_page()  # type: ignore[attr-defined]
    paints = [_first_paint(page, f"{base}/minutes/{job}/edit") for _ in range(3)]
    with _static_server(static) as origin:
        baseline = [_first_paint(page, f"{origin}/minutes/{job}/edit.html") for _ in range(3)]
    page.close()
    size = len(html) / 1024
    return [
        Comparison(
            f"editor page of a 2-hour meeting ({UTTERANCES:,} utterances, {size:,.0f} KiB): "
            "server time",
            server,
            "plain 議事録作成 page",
            plain,
            note=f"best of 5; the first open, which makes the document, {first_open:.2f} s; "
            "target ≤ 1 s",
        ),
        Comparison(
            "editor page of a 2-hour meeting: first contentful paint in chromium",
            min(paints),
            "same HTML as a static file",
            min(baseline),
            note="best of 3; target ≤ 1 s",
        ),
    ]


def _client(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(base + "/minutes", timeout=30) as response:
        page = response.read().decode()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    return opener, token


def _saves(base: str, jobs: list[int]) -> tuple[list[float], list[float]]:
    """Round trips of saves (one editor a job, all at once) and of status requests."""
    saves: list[float] = []
    status: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(len(jobs))

    def editor(job: int, seed: int) -> None:
        rng = random.Random(seed)
        opener, token = _client(base)
        with opener.open(f"{base}/minutes/{job}/edit", timeout=120):
            pass
        version = 0
        text = "修正"
        mine_save: list[float] = []
        mine_status: list[float] = []
        start.wait()
        for n in range(SAVES_EACH):
            text += "字"
            now = 1_800_000_000_000 + n * 200
            body = json.dumps({"version": version, "tab": f"bench{job}", "now": now,
                               "ops": [{"op": "text", "id": f"u{n % 50}", "text": text}],
                               "moments": [now]}).encode()  # fmt: skip
            request = urllib.request.Request(
                f"{base}/minutes/{job}/edit/save", data=body, method="POST",
                headers={"Content-Type": "application/json", "X-CSRF-Token": token},
            )  # fmt: skip
            began = time.perf_counter()
            with opener.open(request, timeout=60) as response:
                version = json.loads(response.read())["version"]
            mine_save.append(time.perf_counter() - began)
            began = time.perf_counter()
            with opener.open(f"{base}/minutes/status?ids={job}", timeout=60) as response:
                response.read()
            mine_status.append(time.perf_counter() - began)
            time.sleep(rng.uniform(0.1, 0.3))
        with lock:
            saves.extend(mine_save)
            status.extend(mine_status)

    threads = [threading.Thread(target=editor, args=(job, i)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return saves, status


def _p95(values: list[float]) -> float:
    # Inclusive: with 10 samples the default method reaches past the largest one.
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _seeks(page: object, url: str) -> list[float]:
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const a = document.querySelector('audio'); return a && a.readyState >= 1; }"
    )
    rng = random.Random(3)
    times = []
    for _ in range(10):
        target = rng.uniform(0, HOURS * 3600 - 10)
        seconds: float = page.evaluate(  # type: ignore[attr-defined]
            """(t) => new Promise((done) => {
                const a = document.querySelector('audio');
                a.pause();
                const began = performance.now();
                a.addEventListener('playing', () => done((performance.now() - began) / 1000),
                                   {once: true});
                a.currentTime = t;
                a.play();
            })""",
            target,
        )
        times.append(seconds)
    page.evaluate("() => document.querySelector('audio').pause()")  # type: ignore[attr-defined]
    return times


def _pg_url() -> str:
    return os.environ.get("PILOTS_BENCH_DATABASE_URL") or os.environ.get(
        "PILOTS_TEST_DATABASE_URL", ""
    )


def _reset_postgresql(url: str) -> None:
    from sqlalchemy import text

    from pilots import db

    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run() -> list[Comparison]:
    """Build the meeting, then measure opening, saving (SQLite, PostgreSQL) and seeking."""
    from playwright.sync_api import sync_playwright

    results: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        recording = folder / "meeting.mp3"
        _recording(recording)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        targets = [("SQLite", f"sqlite:///{folder / 'pilots.db'}")]
        if _pg_url():
            targets.append(("PostgreSQL", _pg_url()))
        else:
            print("saves on PostgreSQL: skipped (set PILOTS_BENCH_DATABASE_URL)", flush=True)
        for name, url in targets:
            if name == "PostgreSQL":
                _reset_postgresql(url)
            site = folder / name
            jobs = _database(url, site / "data", recording, EDITORS)
            with _serve(url, site) as base:
                if name == "SQLite":
                    results.extend(_opening(base, jobs[0], site, browser))
                    page = browser.new_page()
                    served = _seeks(page, f"{base}/minutes/{jobs[0]}/edit")
                    local = folder / "local.html"
                    local.write_text(
                        f'<audio src="{recording.as_uri()}" preload="metadata"></audio>',
                        encoding="utf-8",
                    )
                    from_disk = _seeks(page, local.as_uri())
                    page.close()
                    results.append(
                        Comparison(
                            f"seek and play at a random point of a {HOURS:g}-hour MP3 "
                            "(95th percentile of 10)",
                            _p95(served),
                            "the same file from disk",
                            _p95(from_disk),
                            note=f"best {min(served):.3f} s vs {min(from_disk):.3f} s; "
                            "target ≤ 0.5 s",
                        )
                    )
                saves, status = _saves(base, jobs)
            results.append(
                Comparison(
                    f"save round trip, {EDITORS} editors at once, {name} (95th percentile of "
                    f"{len(saves)})",
                    _p95(saves),
                    "job-status request under the same load",
                    _p95(status),
                    note=f"median {statistics.median(saves) * 1000:.0f} ms; target ≤ 100 ms",
                )
            )
        browser.close()
    return results

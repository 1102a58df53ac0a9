"""Screenshot the correction editor on a sample meeting (for the README's picture).

    python scripts/screenshot_editor.py docs/editor.png

Transcribes ``data/samples/joho_rpa_weekly.flac`` with the real base model into a
temporary database, as the web worker does, starts ``pilots serve`` on it and
photographs ``/minutes/1/edit`` in Debian's chromium (headless) while the
recording plays at its fourth utterance. Nothing is fetched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "joho_rpa_weekly.flac"


def _prepare(folder: Path) -> str:
    """The sample meeting transcribed into a new database, as a finished web job."""
    from pilots import db
    from pilots.asr.draft import DraftOptions, DraftPipeline, JobLog, load_transcriber
    from pilots.asr.result import MeetingInfo
    from pilots.config import Settings
    from pilots.tables import WebJob, WebUpload

    url = f"sqlite:///{folder / 'pilots.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    meeting = MeetingInfo(
        title="RPA推進 定例会議", date=date(2020, 2, 14), department="IT・業務改革課"
    )
    pipeline = DraftPipeline(
        DraftOptions(formats=("docx",), glossary=SAMPLE.with_name("glossary.tsv")),
        lambda: load_transcriber(Settings()),
    )
    log = JobLog(session=lambda: db.session_scope(factory), today=date(2020, 2, 14))
    draft = pipeline.draft_minutes(SAMPLE, folder / "drafts", meeting, log=log)
    assert draft.job is not None
    uploads = folder / "data" / "uploads"
    uploads.mkdir(parents=True)
    stored = "0" * 32 + ".audio"
    shutil.copy(SAMPLE, uploads / stored)
    with db.session_scope(factory) as session:
        upload = WebUpload(stored_name=stored, original_name=SAMPLE.name, kind="audio",
                           purpose="minutes", size_bytes=SAMPLE.stat().st_size,
                           sha256="0" * 64)  # fmt: skip
        session.add(upload)
        session.flush()
        session.add(WebJob(state="done", upload_id=upload.id, original_name=SAMPLE.name,
                           department=meeting.department, title=meeting.title,
                           meeting_date=meeting.date, audio_seconds=draft.transcript.duration,
                           asr_job_id=draft.job.job_id, created_at=db.db_now(session),
                           finished_at=db.db_now(session)))  # fmt: skip
    engine.dispose()
    return url


def main() -> None:
    """Prepare the meeting, serve it, and photograph the editor."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = _prepare(folder)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = dict(os.environ, PILOTS_DATA_DIR=str(folder / "data"))
        server = subprocess.Popen(
            [sys.executable, "-m", "pilots", "--db", url, "serve", "--port", str(port),
             "--no-worker"], env=env, cwd=folder,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(60):
                try:
                    urllib.request.urlopen(base + "/login", timeout=2).close()
                    break
                except OSError:
                    time.sleep(0.5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium,
                    headless=True,
                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
                )
                page = browser.new_page(viewport={"width": 1180, "height": 1400}, locale="ja-JP")
                page.goto(f"{base}/minutes/1/edit")
                page.locator("ol.utterances li").nth(3).locator("button.time").click()
                page.wait_for_timeout(1500)
                page.evaluate("document.getElementById('audio').pause()")
                page.locator("ol.utterances li").nth(1).locator(".text").click()
                page.screenshot(path=str(args.png))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()

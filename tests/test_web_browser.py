"""The web UI in a real browser: Debian's chromium, driven by playwright, against ``pilots serve``.

The server is a real ``pilots serve`` process (with its in-process worker and
the real Whisper base model) on a free 127.0.0.1 port, over the demo
database that ``pilots demo --no-transcribe`` builds from ``data/demo/``.
CI installs chromium and fonts-noto-cjk (``.ci/run``); without chromium these
tests fail rather than skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES

CHROMIUM = Path("/usr/bin/chromium")
DEMO = ROOT / "data" / "demo"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` on the demo database; yields its base URL."""
    from pilots.asr.models import resolve_model

    resolve_model("base", model_dir)
    folder = tmp_path_factory.mktemp("web")
    env = dict(
        os.environ,
        PILOTS_MODEL_DIR=str(model_dir),
        PILOTS_DATA_DIR=str(folder / "data"),
    )
    env.pop("PILOTS_DATABASE_URL", None)
    demo = subprocess.run(
        [sys.executable, "-m", "pilots", "demo", "--no-transcribe", "--out", str(folder / "demo"),
         "--data", str(DEMO), "--samples", str(SAMPLES)],
        env=env, cwd=folder, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    port = _free_port()
    url = f"sqlite:///{folder / 'demo' / 'demo.db'}"
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pilots", "--db", url, "serve", "--port", str(port)],
        env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                raise AssertionError((folder / "serve.log").read_text())
            try:
                with urllib.request.urlopen(base + "/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(
                "pilots serve did not start: " + (folder / "serve.log").read_text()
            )
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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
    context = browser.new_context(accept_downloads=True, locale="ja-JP")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], errors


def test_upload_the_sample_recording_and_download_the_docx(
    server: str, page: Any, tmp_path: Path
) -> None:
    import docx

    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(
        str(SAMPLES / "joho_rpa_weekly.flac")
    )
    page.get_by_label("所属", exact=True).fill("IT・業務改革課")
    page.get_by_label("会議名").fill("RPA推進 定例会議")
    page.get_by_label("会議の日付").fill("2020-02-14")
    page.get_by_label("用語集（任意）").set_input_files(str(SAMPLES / "glossary.tsv"))
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text("joho_rpa_weekly.flac: 受け付けました").wait_for()
    # The page polls the job's progress and reloads when the draft is ready.
    link = page.locator('a[href$="/download/docx"]').first
    link.wait_for(timeout=240_000)
    assert page.locator(".state-done").first.inner_text() == "完了"
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "joho_rpa_weekly.docx"
    saved = tmp_path / "draft.docx"
    download.save_as(saved)
    document = docx.Document(str(saved))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    text = "\n".join([*(p.text for p in document.paragraphs), *cells])
    assert "RPA推進 定例会議" in text
    assert "IT・業務改革課" in text
    assert "[00:00:" in text  # utterances with their time stamps
    # The clerk reports the correction time.
    page.get_by_label("分", exact=True).first.fill("25")
    page.get_by_role("button", name="記録").first.click()
    page.get_by_text("修正時間 25分を記録しました").wait_for()


def test_upload_a_winactor_export_and_see_the_rejected_row(
    server: str, page: Any, tmp_path: Path
) -> None:
    page.goto(server + "/rpa?fy=2019&period=final")
    page.get_by_label("実行ログのエクスポート（CSV または xlsx、複数選択可）").set_input_files(
        str(ROOT / "tests" / "data" / "rpa" / "wmc_tasks.csv")
    )
    page.get_by_label("形式").select_option("wmc")
    page.get_by_role("button", name="実行ログを取り込む").click()
    rejects = page.locator("table.rejects")
    rejects.wait_for()
    assert "2019/02/30" in rejects.inner_text()
    assert page.get_by_role("heading", name="wmc_tasks.csv（wmc, cp932）").is_visible()
    # The demo's catalog and logs give the summary by task and month.
    assert page.get_by_text("業務別").is_visible() and page.get_by_text("月別").is_visible()
    shot = tmp_path / "rpa.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_build_the_demo_report_and_see_the_figures(server: str, page: Any) -> None:
    page.goto(server + "/report")
    page.get_by_label("年度（西暦）", exact=True).fill("2019")
    page.get_by_label("期間", exact=True).select_option("final")
    page.get_by_role("button", name="選択").click()
    page.get_by_role("link", name="ブラウザで表示").click()
    body = page.locator("body").inner_text()
    assert "116所属" in body
    assert "ひと月あたり平均62時間の業務削減" in body
    assert "83.87%" in body
    assert "約1,800時間の作業時間を削減し、削減率は約84%" in body
    page.go_back()
    with page.expect_download() as info:
        page.get_by_role("link", name="Excel（xlsx）をダウンロード").click()
    assert info.value.suggested_filename == "report_fy2019_final.xlsx"


def test_report_page_keeps_the_plan_and_takes_a_new_version(
    server: str, page: Any, tmp_path: Path
) -> None:
    """The demo imported its plan: the page lists it, hands it back, and takes an upload."""
    page.goto(server + "/report")
    assert page.get_by_role("cell", name="ICT施策の効果測定報告").first.is_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="版 1 の YAML").click()
    assert info.value.suggested_filename == "plan_fy2019_v1.yaml"
    saved = tmp_path / "plan.yaml"
    info.value.save_as(saved)
    revised = tmp_path / "改訂.yaml"
    revised.write_text(
        saved.read_text(encoding="utf-8").replace("target: 100", "target: 110"), encoding="utf-8"
    )
    page.get_by_label("計画ファイル（YAML、UTF-8）").set_input_files(str(revised))
    page.get_by_role("button", name="取り込む").click()
    assert "令和元年度の計画を版 2 として取り込みました" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="版 2 の YAML").is_visible()


def test_survey_page_shows_the_demo_survey(server: str, page: Any) -> None:
    page.goto(server + "/survey")
    assert "95%信頼区間" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name="自由記述", exact=False).is_visible()


def test_keyboard_reaches_the_skip_link_and_the_forms(server: str, page: Any) -> None:
    page.goto(server + "/minutes")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "audio":
            break
    assert page.evaluate("document.activeElement.id") == "audio"

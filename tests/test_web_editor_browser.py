"""The correction editor in a real browser: Debian's chromium against ``pilots serve``.

The server transcribes the real sample meeting with the real Whisper base model (its
in-process worker); the tests then correct it the way a clerk does. The page's clock is
Playwright's fake clock where the measured correction time is checked: no test sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pilots import db
from pilots.tables import AsrJob, WebJob
from tests.browser import assert_accessible, serve, server_env
from tests.conftest import SAMPLES
from tests.test_web_browser import _keyboard_walk
from tests.test_web_queue import cut_clip

pytestmark = pytest.mark.slow


class Server:
    """A running ``pilots serve`` and its database."""

    def __init__(self, url: str, db_url: str) -> None:
        self.url = url
        self.db_url = db_url

    def asr_job(self, web_job: int) -> AsrJob:
        engine = db.make_engine(self.db_url)
        with db.session_scope(db.session_factory(engine)) as session:
            job = session.get(WebJob, web_job)
            assert job is not None and job.asr_job_id is not None
            found = session.get(AsrJob, job.asr_job_id)
            assert found is not None
            session.expunge(found)
        engine.dispose()
        return found

    def web_job(self, name: str) -> int:
        engine = db.make_engine(self.db_url)
        with db.session_scope(db.session_factory(engine)) as session:
            found = session.scalar(select(WebJob.id).where(WebJob.original_name == name))
        engine.dispose()
        assert found is not None
        return found


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Server]:
    """``pilots serve`` (single-user mode, with its worker) on an empty database."""
    from pilots.asr.modelfiles import resolve_model

    resolve_model("base", model_dir)
    folder = tmp_path_factory.mktemp("editor")
    env = server_env(folder, model_dir)
    db_url = f"sqlite:///{folder / 'pilots.db'}"
    with serve(folder, db_url, env) as url:
        yield Server(url, db_url)


def _upload(page: Any, server: Server, recording: Path) -> int:
    page.goto(server.url + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(recording))
    page.get_by_label("所属", exact=True).fill("IT・業務改革課")
    page.get_by_label("会議名").fill("RPA推進 定例会議")
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text(f"{recording.name}: 受け付けました").wait_for()
    job = server.web_job(recording.name)
    page.locator(f'tr[data-job="{job}"] a[href="/minutes/{job}/edit"]').wait_for(timeout=300_000)
    return job


@pytest.fixture(scope="module")
def meeting(server: Server, browser: Any) -> int:
    """The sample meeting, transcribed by the server: its job number on the 議事録作成 page."""
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    try:
        return _upload(page, server, SAMPLES / "joho_rpa_weekly.flac")
    finally:
        context.close()


def _texts(page: Any) -> list[str]:
    """The shown utterances' texts, as the document holds them.

    Not ``innerText``: the utterances are ``content-visibility: auto``, and one just shown
    again (a split undone and redone) is skipped until the browser's next frame; under load
    ``innerText`` read it as '' in between (the "split applied twice" failures in CI).
    """
    return page.locator("ol.utterances li:not([hidden]) .text").all_text_contents()


def _text(locator: Any) -> str:
    """One utterance's text (``textContent``, for the reason given in ``_texts``)."""
    text: str | None = locator.text_content()
    assert text is not None
    return text


def _paused_clock(page: Any) -> None:
    """Playwright's clock in the page, standing still: the page's timers (the autosave a
    second after a change, a retry two seconds after a failed save) fire only when the
    test runs the clock on."""
    start = datetime(2030, 4, 1, 9, 0, 0)
    page.clock.install(time=start)
    page.clock.pause_at(start.replace(second=1))


def _version(page: Any) -> int:
    """The version of the text the server last saved, as the page knows it."""
    return int(page.locator("[data-version]").get_attribute("data-version"))


def _split_first_utterance(page: Any, at: int) -> None:
    """The first utterance split by the keyboard: clicked, Home, → ``at`` times, Enter."""
    page.locator("ol.utterances li").first.locator(".text").click()
    page.keyboard.press("Home")
    for _ in range(at):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # split at the cursor


def _saved(page: Any) -> None:
    page.locator('[data-role="save-status"]').filter(has_text="保存しました").wait_for()


def test_open_play_correct_and_reload(server: Server, meeting: int, page: Any) -> None:
    page.goto(server.url + "/minutes")
    page.locator(f'tr[data-job="{meeting}"]').get_by_role("link", name="修正する").click()
    page.get_by_role("heading", name="議事録の修正").wait_for()
    assert_accessible(page)
    _keyboard_walk(page)
    page.set_viewport_size({"width": 320, "height": 640})
    assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 720})
    rows = page.locator("ol.utterances li")
    assert rows.count() >= 8
    # Clicking an utterance's time plays the recording from there.
    third = rows.nth(2)
    start = float(third.get_attribute("data-start"))
    third.locator("button.time").click()
    page.wait_for_function(
        "(t) => Math.abs(document.getElementById('audio').currentTime - t) < 1.0", arg=start
    )
    page.wait_for_function("() => !document.getElementById('audio').paused")
    page.keyboard.press("Alt+KeyK")  # pause
    page.wait_for_function("() => document.getElementById('audio').paused")
    # A correction typed into the second utterance is saved without a button …
    text = rows.nth(1).locator(".text")
    text.click()
    page.keyboard.press("End")
    page.keyboard.type("（修正済み）")
    _saved(page)
    # … and is there after a reload.
    page.reload()
    assert _text(page.locator("ol.utterances li").nth(1).locator(".text")).endswith("（修正済み）")


def test_rename_a_speaker_and_every_utterance_shows_it(
    server: Server, meeting: int, page: Any
) -> None:
    """The draft's speaker labels (issue 13) are named once; one utterance's speaker is set."""
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    rows = page.locator("ol.utterances li")

    def speakers() -> list[str]:
        return [rows.nth(i).locator("input.speaker").input_value() for i in range(rows.count())]

    labels = speakers()
    assert labels[0] == "話者1" and len(set(labels)) >= 2, labels
    chair = [i for i, label in enumerate(labels) if label == "話者1"]
    page.get_by_label("話者1", exact=True).fill("議長")
    page.get_by_label("話者1", exact=True).press("Tab")
    named = [("議長" if label == "話者1" else label) for label in labels]
    assert speakers() == named and len(chair) >= 2
    _saved(page)
    saved = page.locator('[data-role="save-status"]').inner_text()  # 保存しました（版 N、…）
    other = next(i for i, label in enumerate(labels) if label != "話者1")
    speaker = rows.nth(other).locator("input.speaker")
    speaker.fill("山田")
    speaker.press("Tab")
    page.wait_for_function(  # the next version saved
        """(before) => {
            const said = document.querySelector('[data-role="save-status"]').textContent;
            return said.includes("保存しました") && said !== before;
        }""",
        arg=saved,
    )
    page.reload()
    named[other] = "山田"
    assert speakers() == named


def test_after_undoing_a_split_the_tools_act_on_a_visible_utterance(
    server: Server, meeting: int, page: Any
) -> None:
    # Ctrl+Z of a split hid the utterance that had the focus; Alt+M then merged that
    # hidden one with the first, and the first utterance vanished from the page.
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    before = _texts(page)
    _split_first_utterance(page, 4)
    page.keyboard.press("Control+KeyZ")  # undo: merged again
    assert _texts(page) == before
    page.keyboard.press("Alt+KeyM")  # merge the first utterance with the next
    assert _texts(page) == [before[0] + before[1], *before[2:]]
    page.keyboard.press("Control+KeyZ")  # and back, for the next tests on this meeting
    assert _texts(page) == before
    _saved(page)


def test_keyboard_split_merge_undo_and_playback(server: Server, meeting: int, page: Any) -> None:
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    before = _texts(page)
    _split_first_utterance(page, 4)
    after = _texts(page)
    assert after[0] == before[0][:4] and after[1] == before[0][4:]
    assert page.evaluate("document.activeElement.closest('li') === "
                         "document.querySelectorAll('ol.utterances li')[1]")  # fmt: skip
    page.keyboard.press("Control+KeyZ")  # undo: merged again
    assert _texts(page) == before
    page.keyboard.press("Control+KeyY")  # redo
    assert _texts(page)[:2] == after[:2]
    page.keyboard.press("Alt+ArrowUp")
    page.keyboard.press("Alt+KeyM")  # merge with the next
    assert _texts(page) == before
    _saved(page)
    page.reload()
    assert _texts(page) == before
    # Playback without the mouse: Alt+K plays, Alt+L skips 3 s, Alt+. speeds up.
    page.locator("ol.utterances li").first.locator(".text").click()
    page.keyboard.press("Alt+KeyK")
    page.wait_for_function("() => !document.getElementById('audio').paused")
    page.keyboard.press("Alt+KeyK")
    at = page.evaluate("document.getElementById('audio').currentTime")
    page.keyboard.press("Alt+KeyL")
    assert page.evaluate("document.getElementById('audio').currentTime") == pytest.approx(at + 3)
    page.keyboard.press("Alt+Period")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.25
    assert page.get_by_label("再生速度").input_value() == "1.25"
    # Typing letters plays nothing: the shortcuts need Alt.
    page.keyboard.type("k")
    assert page.evaluate("document.getElementById('audio').paused")
    assert "キーボード操作" in page.locator("summary").inner_text()


def test_a_second_tab_is_warned_and_cannot_overwrite(
    server: Server, meeting: int, browser: Any
) -> None:
    context = browser.new_context(locale="ja-JP", bypass_csp=True)
    try:
        first, second = context.new_page(), context.new_page()
        first.goto(f"{server.url}/minutes/{meeting}/edit")
        first.locator("ol.utterances li").nth(4).locator(".text").click()
        first.keyboard.type("一")
        _saved(first)
        second.goto(f"{server.url}/minutes/{meeting}/edit")
        second.locator('[data-role="others"]').wait_for()
        first.keyboard.type("二")
        _saved(first)
        second.locator("ol.utterances li").nth(5).locator(".text").click()
        second.keyboard.type("三")
        alert = second.get_by_role("alert")
        alert.filter(has_text="別のタブまたは別の人がこの議事録を先に保存しました").wait_for()
        assert (
            second.locator("ol.utterances li .text").first.get_attribute("contenteditable")
            == "false"
        )
        assert_accessible(second)
        second.reload()
        texts = _texts(second)
        assert "三" not in texts[5] and "一二" in texts[4]
    finally:
        context.close()


def test_finish_measures_the_active_time_and_the_accuracy(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    import docx

    clip = cut_clip(tmp_path / "修正時間の計測.wav", 0.0, 14.0)
    context = browser.new_context(locale="ja-JP", accept_downloads=True, bypass_csp=True)
    page = context.new_page()
    try:
        job = _upload(page, server, clip)
        _paused_clock(page)
        page.goto(f"{server.url}/minutes/{job}/edit")
        text = page.locator("ol.utterances li").first.locator(".text")
        text.click()
        page.keyboard.press("End")
        # Active: typing at 0 s, 60 s and 120 s; then a break of ten minutes (not counted).
        for piece in ("修", "正", "後"):
            page.keyboard.type(piece)
            page.clock.run_for(60_000)
        page.clock.run_for(600_000)
        page.keyboard.type("。")
        corrected = _text(text)
        page.clock.run_for(3_000)  # the autosave
        _saved(page)
        page.get_by_role("button", name="修正完了").click()
        page.get_by_text("修正完了を記録しました").wait_for()
        assert page.get_by_role("heading", name="修正完了", exact=True).is_visible()
        assert page.locator("ol.utterances .text").first.get_attribute("contenteditable") is None
        asr = server.asr_job(job)
        # Opening and typing at 0, 60 and 120 s are joined (gaps ≤ 120 s): 120 s. After the
        # ten-minute break, the typing at 780 s and 修正完了 at 783 s: 3 s. The break: nothing.
        assert asr.correction_minutes == pytest.approx(123 / 60)
        assert asr.correction_source == "editor"
        assert asr.cer is not None and 0 < asr.cer < 1
        with page.expect_download() as info:
            page.get_by_role("link", name="docx").first.click()
        saved = tmp_path / "corrected.docx"
        info.value.save_as(saved)
        body = "\n".join(p.text for p in docx.Document(str(saved)).paragraphs)
        assert corrected in body and "修正後。" in body
        # Reopening is possible, and recorded.
        page.get_by_role("button", name="修正を再開").click()
        page.get_by_text("修正を再開しました").wait_for()
        assert server.asr_job(job).correction_minutes is None
    finally:
        context.close()


def _visibility(page: Any, state: str) -> None:
    """The page told that its tab was hidden or shown again."""
    page.evaluate(
        "s => { Object.defineProperty(document, 'visibilityState', {value: s, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        state,
    )


def _held(held: list[Any], count: int, page: Any) -> None:
    for _ in range(200):  # the page's requests reach the route only while Playwright waits
        if len(held) >= count:
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"{len(held)} saves sent, {count} expected")


def test_leaving_the_tab_while_a_save_is_on_its_way_keeps_the_page_and_the_edit(
    server: Server, meeting: int, page: Any
) -> None:
    # The tab was hidden while a save was on its way: the page sent what was typed since
    # with the same version, the second save was refused (409), the page locked itself
    # and dropped the edit.
    held: list[Any] = []
    released = False

    def hold(route: Any) -> None:
        if released:
            route.continue_()
        else:
            held.append(route)

    page.route("**/edit/save", hold)
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    version = _version(page)
    text = page.locator("ol.utterances li").nth(2).locator(".text")
    start = _text(text)
    text.click()
    page.keyboard.press("End")
    page.keyboard.type("X")
    _held(held, 1, page)  # the autosave, a second after the change
    page.keyboard.type("Y")  # typed while that save is on its way
    _visibility(page, "hidden")
    _held(held, 2, page)  # what the page sends as the tab is hidden
    released = True
    for route in held:  # in the order they were sent
        route.continue_()
    _visibility(page, "visible")
    # X, then Y: two versions on, and the page never locked.
    page.get_by_text(f"保存しました（版 {version + 2}、").wait_for(timeout=15_000)
    assert page.locator('[data-role="conflict"]').is_hidden()
    page.reload()
    assert _text(page.locator("ol.utterances li").nth(2).locator(".text")) == start + "XY"


def test_a_save_the_server_refuses_stops_the_page_instead_of_retrying(
    server: Server, meeting: int, page: Any
) -> None:
    def refuse(route: Any) -> None:
        route.fulfill(
            status=400, content_type="application/json", body='{"message": "発言 u9 はありません"}'
        )

    page.route("**/edit/save", refuse)
    page.add_init_script(  # the saves the page sends, counted as it sends them
        "window.saves = 0; const send = window.fetch;"
        " window.fetch = (url, init) => { if (String(url).endsWith('/edit/save')) saves += 1;"
        " return send(url, init); };"
    )
    _paused_clock(page)
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    text = page.locator("ol.utterances li").nth(1).locator(".text")
    text.click()
    page.keyboard.press("End")
    page.keyboard.type("Z")
    page.clock.run_for(1_500)  # the autosave
    conflict = page.locator('[data-role="conflict"]')
    conflict.get_by_text("発言 u9 はありません").wait_for()
    page.clock.run_for(10_000)  # a retry came every 2 s after a failed save
    assert page.evaluate("window.saves") == 1


def test_saved_is_not_said_while_a_change_waits_to_be_saved(
    server: Server, meeting: int, page: Any
) -> None:
    # 保存しました stayed on the page while what was typed after that save waited for the
    # next one: a clerk (and test_open_play_correct_and_reload, under load in CI) took the
    # change for saved when only its first character was.
    held: list[Any] = []
    page.route("**/edit/save", lambda route: held.append(route))
    _paused_clock(page)
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    version = _version(page)
    status = page.locator('[data-role="save-status"]')

    def send(save: int) -> None:  # the autosave, a second after the change, held on its way
        page.clock.run_for(1_500)
        _held(held, save, page)

    def answer(save: int) -> None:  # that save let through, and its answer read
        held[save - 1].continue_()
        page.locator(f'[data-version="{version + save}"]').wait_for(state="attached")

    text = page.locator("ol.utterances li").nth(3).locator(".text")
    before = _text(text)
    text.click()
    page.keyboard.press("End")
    page.keyboard.type("A")
    assert status.inner_text() == "保存しています…"
    send(1)
    answer(1)
    assert status.inner_text().startswith(f"保存しました（版 {version + 1}、")
    page.keyboard.type("B")  # after that save: its autosave is a second away
    assert status.inner_text() == "保存しています…"
    send(2)
    page.keyboard.type("C")  # while B's save is on its way
    answer(2)
    assert status.inner_text() == "保存しています…"  # B is saved, C is not yet
    send(3)
    answer(3)
    assert status.inner_text().startswith(f"保存しました（版 {version + 3}、")
    page.unroute("**/edit/save")
    page.reload()
    assert _text(page.locator("ol.utterances li").nth(3).locator(".text")) == before + "ABC"


def test_a_failing_save_stays_said_while_the_clerk_types_on(
    server: Server, meeting: int, page: Any
) -> None:
    # The next key replaced 保存できませんでした with 保存しています…: while the server was
    # down, a clerk who kept typing never saw that nothing was being saved.
    def down(route: Any) -> None:
        route.fulfill(
            status=503, content_type="application/json", body='{"message": "サーバー停止中"}'
        )

    page.route("**/edit/save", down)
    _paused_clock(page)
    page.goto(f"{server.url}/minutes/{meeting}/edit")
    status = page.locator('[data-role="save-status"]')
    text = page.locator("ol.utterances li").nth(5).locator(".text")
    before = _text(text)
    text.click()
    page.keyboard.press("End")
    page.keyboard.type("D")
    page.clock.run_for(1_500)
    failed = "保存できませんでした（サーバー停止中）。2秒後にもう一度保存します。"
    page.get_by_text(failed).wait_for()
    page.keyboard.type("E")
    assert status.inner_text() == failed
    page.unroute("**/edit/save")  # the server is back: the retry saves both
    page.clock.run_for(2_500)
    page.get_by_text("保存しました（版 ").wait_for()
    page.reload()
    assert _text(page.locator("ol.utterances li").nth(5).locator(".text")) == before + "DE"

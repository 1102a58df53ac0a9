"""The web UI in a real browser: Debian's chromium, driven by playwright, against ``pilots serve``.

The server is a real ``pilots serve`` process (with its in-process worker and
the real Whisper base model) on a free 127.0.0.1 port, over the demo
database that ``pilots demo --no-transcribe`` builds from ``data/demo/``; a
second one, with users, serves the login tests. Every page is checked with
axe-core (WCAG 2.1 A/AA) and walked with the Tab key. CI installs chromium,
fonts-noto-cjk and npm (``.ci/run``; ``make test`` installs axe-core); without
them these tests fail rather than skip.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import assert_accessible, build_demo, serve, server_env
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.slow

# Small enough to test the 413 page with a few MB, large enough for the sample recording.
UPLOAD_LIMIT_MB = "2"
RUNS_INPUT = "実行ログのエクスポート（CSV または xlsx、複数選択可）"
SURVEY_INPUT = "エクスポート（Microsoft Forms の xlsx、または CSV）"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` on the demo database (single-user mode); yields its base URL."""
    from pilots.asr.modelfiles import resolve_model

    resolve_model("base", model_dir)
    folder = tmp_path_factory.mktemp("web")
    env = server_env(folder, model_dir, PILOTS_UPLOAD_LIMIT_MB=UPLOAD_LIMIT_MB)
    with serve(folder, build_demo(folder, env), env) as url:
        yield url


@pytest.fixture(scope="module")
def users_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` with a users file (a clerk), on an empty database, without a worker."""
    from pilots.web.auth import UserStore

    folder = tmp_path_factory.mktemp("web-users")
    UserStore(folder / "data" / "users.json").add("sato", "clerk", "sato-pass-1", "総務課")
    env = server_env(folder, model_dir)
    with serve(folder, f"sqlite:///{folder / 'pilots.db'}", env, "--no-worker") as url:
        yield url


FOCUSABLE = (
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex="0"], '
    'audio[controls], [contenteditable="plaintext-only"], [contenteditable="true"]'
)


def _keyboard_walk(page: Any) -> None:
    """Tab through the page from its start: every control is reached and shows the focus."""
    wanted = page.evaluate(
        """(selector) => {
            const all = Array.from(document.querySelectorAll(selector))
                .filter((e) => !e.disabled && e.offsetParent !== null);
            all.forEach((e, i) => e.setAttribute("data-walk", String(i)));
            return all.length;
        }""",
        FOCUSABLE,
    )
    page.locator("a.skip").focus()  # the first stop of every page
    reached: list[str] = []
    hidden: list[str] = []
    for _ in range(3 * wanted + 5):
        found = page.evaluate(
            """() => {
                const e = document.activeElement;
                if (!e || e === document.body) { return null; }
                const style = getComputedStyle(e);
                const ring = style.outlineStyle !== "none" && style.outlineWidth !== "0px";
                return {key: e.getAttribute("data-walk") || e.tagName, ring: ring};
            }"""
        )
        if found is None:
            break
        reached.append(found["key"])
        if not found["ring"]:
            hidden.append(found["key"])
        page.keyboard.press("Tab")
    assert set(reached) == {str(i) for i in range(wanted)}, (wanted, reached)
    assert hidden == [], f"no visible focus on {hidden}"


# --- every page: axe-core and the keyboard ---------------------------------------------------

PAGES = [
    "/",
    "/login",
    "/minutes",
    "/rpa",
    "/rpa?fy=2019&period=interim&as_of=2019-07-31",
    "/survey",
    "/report",
    "/report/view?fy=2019&period=final",
    "/nowhere",
    "/rpa?fy=1800",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_passes_axe_and_the_keyboard_reaches_everything(
    server: str, page: Any, path: str
) -> None:
    page.goto(server + path)
    assert page.locator("h1").count() >= 1
    assert_accessible(page)
    if not path.startswith("/report/view"):
        _keyboard_walk(page)
    # A phone's width, or a 1280-pixel screen zoomed to 400% (WCAG 1.4.10): wide tables
    # scroll inside regions that the keyboard can reach and scroll.
    page.set_viewport_size({"width": 320, "height": 640})
    assert_accessible(page)


def test_the_413_page_looks_like_the_others_and_leads_back(
    server: str, page: Any, tmp_path: Path
) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(bytes(5 * 1024 * 1024))
    # The minutes form sends with a script (to show progress): the refusal shows on the form.
    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(big))
    page.get_by_label("会議名").fill("大きな会議")
    page.get_by_role("button", name="アップロードして文字起こし").click()
    alert = page.get_by_role("alert").filter(has_text="ファイルが大きすぎます")
    assert "1回の送信で合計 2 MB まで" in alert.inner_text()
    assert page.get_by_label("会議名").input_value() == "大きな会議"
    assert page.get_by_role("button", name="アップロードして文字起こし").is_enabled()
    assert_accessible(page)
    # A plain form post gets the 413 page: the site's header and style sheet, and a way back.
    page.goto(server + "/rpa")
    page.get_by_label(RUNS_INPUT).set_input_files(str(big))
    page.get_by_role("button", name="実行ログを取り込む").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "ファイルが大きすぎます（1回の送信で合計 2 MB まで）" in alert.inner_text()
    assert page.locator("header.site").is_visible()
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Noto Sans')
    assert_accessible(page)
    page.get_by_role("link", name="RPAのページに戻る").click()
    assert page.get_by_role("heading", name="RPA", exact=True).is_visible()


# --- 効果測定レポート ----------------------------------------------------------------------------


def test_build_the_demo_report_and_see_the_figures(server: str, page: Any) -> None:
    # Before the uploads below change the demo's figures.
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
        saved.read_text(encoding="utf-8").replace("target: 70%", "target: 75%"), encoding="utf-8"
    )
    page.get_by_label("計画ファイル（YAML、UTF-8）").set_input_files(str(revised))
    page.get_by_role("button", name="取り込む").click()
    assert "令和元年度の計画を版 2 として取り込みました" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="版 2 の YAML").is_visible()


# --- 議事録作成 ----------------------------------------------------------------------------------


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
    page.get_by_label("場所").fill("第3会議室")
    page.get_by_label("出席者").fill("山田、佐藤、鈴木")
    page.get_by_label("用語集（任意）").set_input_files(str(SAMPLES / "glossary.tsv"))
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text("joho_rpa_weekly.flac: 受け付けました").wait_for()
    # The page polls the job's progress and reloads when the draft is ready.
    link = page.locator('a[href$="/download/docx"]').first
    link.wait_for(timeout=240_000)
    assert page.locator(".state-done").first.inner_text() == "完了"
    # Dates as the reports write them.
    row = page.locator("tr[data-job]").first.inner_text()
    assert "令和2年2月14日" in row and "2020-02-14" not in row
    assert "令和" in page.locator("tr[data-job] td").first.inner_text()
    assert_accessible(page)
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
    assert "第3会議室" in text and "山田、佐藤、鈴木" in text  # 場所 and 出席者 in the header
    assert "[00:00:" in text  # utterances with their time stamps
    # The clerk reports the correction time.
    page.get_by_label("分", exact=True).first.fill("10")
    page.get_by_role("button", name="記録").first.click()
    page.get_by_text("修正時間 10分を記録しました").wait_for()


def test_a_refused_recording_keeps_what_was_typed(server: str, page: Any, tmp_path: Path) -> None:
    text = tmp_path / "会議.wav"
    text.write_text("これは録音ではありません\n", encoding="utf-8")
    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(text))
    typed = {
        "所属": "総務課",
        "会議名": "予算説明会",
        "会議の日付": "2019-10-01",
        "場所": "大会議室",
        "出席者": "田中、高橋",
    }
    for label, value in typed.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.wait_for_load_state()
    assert "会議.wav: ファイルの中身が 録音（音声ファイル） ではありません" in (
        page.get_by_role("alert").inner_text()
    )
    for label, value in typed.items():
        assert page.get_by_label(label, exact=True).input_value() == value, label
    assert_accessible(page)


# --- RPA -----------------------------------------------------------------------------------------


def test_rpa_opens_on_the_latest_year_with_data_in_japanese(server: str, page: Any) -> None:
    page.goto(server + "/rpa")
    assert page.get_by_label("年度（西暦）", exact=True).input_value() == "2019"
    main = page.locator("main").inner_text()
    assert "令和元年度 最終（令和2年3月末時点）" in main
    months = page.locator("table", has=page.locator("caption", has_text="月別"))
    assert months.locator("tbody tr").first.locator("td").first.inner_text() == "平成31年4月"
    assert "令和元年5月" in months.inner_text()
    # Every label in Japanese: no internal key, no command to type.
    for word in ("other_runs", "unmatched_runs", "rejected_rows", "other_by_status",
                 "undated_runs", "pilots rpa", "--"):  # fmt: skip
        assert word not in main, word
    excluded = page.locator("ul.excluded").inner_text()
    assert "業務台帳のどのシナリオ名にも当たらない実行" in excluded


def test_upload_a_winactor_export_and_see_the_rejected_and_unmatched_rows(
    server: str, page: Any, tmp_path: Path
) -> None:
    page.goto(server + "/rpa?fy=2019&period=final")
    page.get_by_label(RUNS_INPUT).set_input_files(
        str(ROOT / "tests" / "data" / "rpa" / "wmc_tasks.csv")
    )
    page.get_by_label("形式").select_option("wmc")
    page.get_by_role("button", name="実行ログを取り込む").click()
    rejects = page.locator("table.rejects")
    rejects.wait_for()
    assert "2019/02/30" in rejects.inner_text()
    assert page.get_by_role(
        "heading",
        name="wmc_tasks.csv（WinActor Manager on Cloud タスクエクスポート・Shift_JIS（CP932））",
    ).is_visible()
    # The format chosen stays chosen.
    assert page.get_by_label("形式").input_value() == "wmc"
    # The summary lists, on the page, the rows it could not read and the scenarios it
    # does not know (by the name the file was uploaded with).
    every_reject = page.locator("table.all-rejects").inner_text()
    assert "wmc_tasks.csv" in every_reject and "2019/02/30" in every_reject
    assert "uploads" not in every_reject
    unmatched = page.locator("table.unmatched").inner_text()
    assert "シナリオ名" in unmatched
    # The demo's catalog and logs give the summary by task and month.
    assert page.get_by_text("業務別").is_visible() and page.get_by_text("月別").is_visible()
    assert_accessible(page)
    shot = tmp_path / "rpa.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_a_refused_period_keeps_what_was_typed(server: str, page: Any) -> None:
    page.goto(server + "/rpa?fy=2019&period=interim")
    page.get_by_label("年度（西暦）", exact=True).fill("2019")
    page.get_by_label("基準日（任意）").fill("2020-06-30")
    page.get_by_role("button", name="集計").click()
    page.wait_for_load_state()
    assert "基準日" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("基準日（任意）").input_value() == "2020-06-30"
    assert page.get_by_label("期間", exact=True).input_value() == "interim"


# --- 満足度調査 ----------------------------------------------------------------------------------


def test_survey_page_shows_the_demo_survey(server: str, page: Any) -> None:
    page.goto(server + "/survey")
    assert "95%信頼区間" in page.locator("main").inner_text()
    assert page.get_by_role("heading", name="自由記述", exact=False).is_visible()


def test_two_satisfaction_questions_let_the_user_pick_one_by_keyboard(
    server: str, page: Any, tmp_path: Path
) -> None:
    rows = [
        ["所属", "議事録作成の満足度", "RPAの満足度", "ご意見"],
        ["総務課", "満足", "不満", "早くなった"],
        ["人事課", "大変満足", "どちらともいえない", ""],
        ["会計課", "不満", "満足", "誤認識が多い"],
    ]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    export = tmp_path / "二つの設問.csv"
    export.write_bytes(out.getvalue().encode("cp932"))
    page.goto(server + "/survey")
    page.get_by_label(SURVEY_INPUT).set_input_files(str(export))
    page.get_by_label("調査名（任意）").fill("二つの設問の調査")
    page.get_by_role("button", name="取り込む", exact=True).click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "--question" not in main
    assert "「議事録作成の満足度」、「RPAの満足度」" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    # By keyboard alone: the list of questions, then the button.
    choice = page.get_by_label("満足度の設問", exact=True)
    choice.focus()
    page.keyboard.press("ArrowDown")
    assert choice.input_value() == "RPAの満足度"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    status = page.get_by_role("status").inner_text()
    assert "調査「二つの設問の調査」: 3行" in status and "設問: RPAの満足度" in status


def test_a_refused_survey_keeps_its_name(server: str, page: Any, tmp_path: Path) -> None:
    empty = tmp_path / "空.csv"
    empty.write_text("所属,満足度\n", encoding="utf-8")
    page.goto(server + "/survey")
    page.get_by_label(SURVEY_INPUT).set_input_files(str(empty))
    page.get_by_label("調査名（任意）").fill("来年度の調査")
    page.get_by_role("button", name="取り込む", exact=True).click()
    page.wait_for_load_state()
    assert "空.csv" in page.locator(".flash.error").inner_text()
    assert page.get_by_label("調査名（任意）").input_value() == "来年度の調査"


# --- login and keyboard ------------------------------------------------------------------------


def test_login_keeps_the_name_and_shows_the_role_in_japanese(users_server: str, page: Any) -> None:
    page.goto(users_server + "/minutes")
    page.get_by_label("利用者名").fill("sato")
    page.get_by_label("パスワード").fill("wrong-password")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_load_state()
    assert "利用者名またはパスワードが違います" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("利用者名").input_value() == "sato"
    assert page.get_by_label("パスワード").input_value() == ""
    assert_accessible(page)
    page.get_by_label("パスワード").fill("sato-pass-1")
    page.get_by_label("パスワード").press("Enter")
    page.get_by_role("heading", name="議事録作成", exact=True).wait_for()
    header = page.locator("header.site").inner_text()
    assert "sato・職員（議事録作成）" in header and "clerk" not in header
    assert_accessible(page)
    _keyboard_walk(page)
    page.goto(users_server + "/rpa")  # not a clerk's page: the 403 page
    assert "このページを開く権限がありません" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    _keyboard_walk(page)


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


# --- issue 10: double submit, deleting a recording, the login lock ---------------------------


def test_the_upload_button_is_disabled_once_clicked_and_shows_progress(
    server: str, page: Any, tmp_path: Path
) -> None:
    from tests.test_web_queue import cut_clip

    clip = cut_clip(tmp_path / "二度押し.wav", 30.0, 3.0)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(clip))
    page.get_by_label("所属", exact=True).fill("総務課")
    # Two clicks in a row, as an impatient clerk does: the first disables the button.
    state = page.evaluate(
        """() => {
          const button = [...document.querySelectorAll("button")].find(
            (b) => b.textContent.trim() === "アップロードして文字起こし");
          button.click();
          const disabled = button.disabled;
          button.click();
          const label = [...document.querySelectorAll("label")].find(
            (l) => l.textContent.trim() === "送信の進み具合");
          const bar = label ? document.getElementById(label.htmlFor) : null;
          return {disabled: disabled, progressShown: bar !== null && bar.offsetParent !== null};
        }"""
    )
    assert state == {"disabled": True, "progressShown": True}
    page.get_by_text("二度押し.wav: 受け付けました").wait_for()
    assert [u for u in posts if u.endswith("/minutes")] == [server + "/minutes"]
    assert page.locator("tr[data-job]", has_text="二度押し.wav").count() == 1


def test_delete_a_finished_jobs_recording(server: str, page: Any, tmp_path: Path) -> None:
    from tests.test_web_queue import cut_clip

    clip = cut_clip(tmp_path / "削除する会議.wav", 12.0, 3.0)
    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(clip))
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text("削除する会議.wav: 受け付けました").wait_for()
    row = page.locator("tr[data-job]", has_text="削除する会議.wav")
    button = row.get_by_role("button", name="録音を削除")
    button.wait_for(timeout=240_000)  # once the job is done (the page reloads itself)
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    button.click()
    page.get_by_text("録音を削除しました（議事録案と効果測定の記録は残ります）").wait_for()
    assert asked and "元に戻せません" in asked[0]
    row = page.locator("tr[data-job]", has_text="削除する会議.wav")
    assert "録音は削除済み" in row.inner_text()
    assert row.locator('a[href$="/download/docx"]').count() == 1  # the draft stays


@pytest.fixture(scope="module")
def lock_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` with a users file, on an empty database, without a worker: its own
    server, because the lock it tests also locks the browser's address for a while."""
    from pilots.web.auth import UserStore

    folder = tmp_path_factory.mktemp("web-lock")
    UserStore(folder / "data" / "users.json").add("sato", "clerk", "sato-password", "総務課")
    env = server_env(folder, model_dir, PILOTS_LOGIN_DELAY_SECONDS="0.1")
    with serve(folder, f"sqlite:///{folder / 'pilots.db'}", env, "--no-worker") as url:
        yield url


def test_repeated_wrong_passwords_lock_the_login_and_say_so(lock_server: str, page: Any) -> None:
    page.goto(lock_server + "/login")
    for n in range(1, 6):
        page.get_by_label("利用者名").fill("sato")
        page.get_by_label("パスワード").fill(f"wrong-{n}")
        page.get_by_role("button", name="ログイン").click()
        alert = page.get_by_role("alert")
        if n < 5:
            alert.filter(has_text=f"あと{5 - n}回失敗すると").wait_for()
    alert.filter(has_text="失敗が続いたため、15分間ログインできません").wait_for()
    page.get_by_label("利用者名").fill("sato")
    page.get_by_label("パスワード").fill("sato-password")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("alert").filter(has_text="この利用者名はログインの失敗が続いたため").wait_for()
    assert page.url.startswith(lock_server + "/login")

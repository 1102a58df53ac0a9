"""Every kind of file the CLI reads, uploaded on its page in a real browser.

xlsx and CSV in each encoding the CLI accepts (UTF-8, UTF-8 with BOM, CP932)
on 満足度調査 (the Forms export), RPA (the task catalog, and the run logs of
every vendor format) and, for the glossary, 議事録作成 (UTF-8 with and without
BOM, CP932). The files are made from the test data and the demo's real Forms
export, the same table in each variant; one ``pilots serve`` on an empty
database and one chromium serve the whole module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.browser import DEMO, assert_accessible, serve, server_env
from tests.conftest import DATA, SAMPLES

pytestmark = pytest.mark.slow

VARIANTS = ("xlsx", "utf-8", "utf-8-sig", "cp932")
# How the page names what it read.
READ_AS = {"xlsx": "Excel", "utf-8": "UTF-8", "utf-8-sig": "UTF-8（BOM付き）", "cp932": "Shift_JIS"}
RUN_LOGS = {
    "wmc": DATA / "rpa" / "wmc_tasks.csv",
    "uipath": DATA / "rpa" / "uipath_jobs_api.csv",
    "pad": DATA / "rpa" / "pad_flowsessions.csv",
    "generic": DATA / "rpa" / "generic_runs.csv",
}
RUNS_INPUT = "実行ログのエクスポート（CSV または xlsx、複数選択可）"


def read_csv(path: Path) -> list[list[str]]:
    """A test CSV's records (UTF-8 with or without BOM, or CP932)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp932")
    return [row for row in csv.reader(io.StringIO(text, newline="")) if any(row)]


def read_xlsx(path: Path) -> list[list[Any]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()
    return rows


def write_variant(rows: Sequence[Sequence[Any]], path: Path, variant: str) -> Path:
    """The table as an xlsx workbook or as CSV in one encoding; returns the file."""
    if variant == "xlsx":
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(list(row))
        path = path.with_suffix(".xlsx")
        book.save(path)
        return path
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(
        [["" if v is None else str(v) for v in row] for row in rows]
    )
    path = path.with_suffix(".csv")
    path.write_bytes(out.getvalue().encode(variant))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` on an empty database."""
    from pilots.asr.modelfiles import resolve_model

    resolve_model("base", model_dir)
    folder = tmp_path_factory.mktemp("web-uploads")
    with serve(folder, f"sqlite:///{folder / 'pilots.db'}", server_env(folder, model_dir)) as url:
        yield url


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upload-files")


def _submit(page: Any, input_label: str, path: Path, button: str) -> None:
    page.get_by_label(input_label).set_input_files(str(path))
    page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def _no_error(page: Any) -> None:
    errors = page.locator(".flash.error").all_inner_texts()
    assert errors == [], errors


@pytest.mark.parametrize("variant", VARIANTS)
def test_survey_export(server: str, page: Any, files: Path, variant: str) -> None:
    rows = read_xlsx(DEMO / "survey_forms.xlsx")
    path = write_variant(rows, files / f"満足度調査_{variant}(1-36)", variant)
    page.goto(server + "/survey")
    page.get_by_label("調査名（任意）").fill(f"満足度調査 {variant}")
    _submit(page, "エクスポート（Microsoft Forms の xlsx、または CSV）", path, "取り込む")
    _no_error(page)
    status = page.get_by_role("status").inner_text()
    assert f"調査「満足度調査 {variant}」: 36行" in status
    assert "有効回答 31、無回答 4、5段階にない回答 1" in status


@pytest.mark.parametrize("variant", VARIANTS)
def test_rpa_catalog(server: str, page: Any, files: Path, variant: str) -> None:
    rows = read_xlsx(DEMO / "rpa_catalog.xlsx")
    path = write_variant(rows, files / f"業務台帳_{variant}", variant)
    page.goto(server + "/rpa")
    _submit(page, "業務台帳（CSV または xlsx）", path, "業務台帳を取り込む")
    _no_error(page)
    assert f"{len(rows) - 1}行" in page.locator("#catalog-result + p").inner_text()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("fmt", RUN_LOGS)
def test_rpa_run_log(server: str, page: Any, files: Path, fmt: str, variant: str) -> None:
    rows = read_csv(RUN_LOGS[fmt])
    path = write_variant(rows, files / f"{fmt}_{variant}", variant)
    page.goto(server + "/rpa")
    page.get_by_label("形式").select_option(fmt)
    _submit(page, RUNS_INPUT, path, "実行ログを取り込む")
    _no_error(page)
    heading = page.get_by_role("heading", name=path.name).inner_text()
    assert READ_AS[variant] in heading
    assert page.locator('[data-figure="rows"]').inner_text() == str(len(rows) - 1)


@pytest.mark.parametrize("variant", ("utf-8", "utf-8-sig", "cp932"))
def test_glossary(server: str, page: Any, files: Path, variant: str) -> None:
    from tests.test_web_queue import cut_clip

    glossary = files / f"用語集_{variant}.tsv"
    glossary.write_bytes((SAMPLES / "glossary.tsv").read_text("utf-8").encode(variant))
    # A different clip each time: three recordings, not one sent three times.
    start = 6.0 + 2.0 * ("utf-8", "utf-8-sig", "cp932").index(variant)
    clip = cut_clip(files / f"clip_{variant}.wav", start, 1.5)
    page.goto(server + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(clip))
    page.get_by_label("用語集（任意）").set_input_files(str(glossary))
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text(f"{clip.name}: 受け付けました").wait_for()
    _no_error(page)


def test_the_pages_after_an_upload_pass_axe(server: str, page: Any, files: Path) -> None:
    """The result of an upload, and its refusal, meet WCAG 2.1 AA (axe-core)."""
    rows = read_csv(RUN_LOGS["generic"])
    page.goto(server + "/rpa")
    _submit(
        page, RUNS_INPUT, write_variant(rows, files / "generic_axe", "xlsx"), "実行ログを取り込む"
    )
    assert page.locator("h2#runs-result").is_visible()
    assert_accessible(page)
    page.goto(server + "/survey")
    binary = files / "image.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    _submit(page, "エクスポート（Microsoft Forms の xlsx、または CSV）", binary, "取り込む")
    assert "image.csv: ファイルの中身が" in page.locator(".flash.error").inner_text()
    assert_accessible(page)


def test_every_rejected_row_can_be_read_on_the_page(server: str, page: Any, files: Path) -> None:
    """More rejected rows than one page holds: the page turns to the rest (no command needed)."""
    rows = [["scenario", "started_at", "ended_at", "status"]] + [
        [f"帳票{i:03d}", f"2019/13/{i % 28 + 1:02d} 09:00", "", "success"] for i in range(230)
    ]
    path = write_variant(rows, files / "bad_dates", "utf-8")
    page.goto(server + "/rpa")
    page.get_by_label("形式").select_option("generic")
    _submit(page, RUNS_INPUT, path, "実行ログを取り込む")
    assert page.locator('[data-figure="rejected"]').inner_text() == "230"
    table = page.locator("table.all-rejects")
    caption = table.locator("caption").inner_text()
    assert "のうち1〜200行目" in caption
    assert table.locator("tbody tr").count() == 200
    page.get_by_role("link", name="次の200行").click()
    rest = page.locator("table.all-rejects")
    assert "201〜" in rest.locator("caption").inner_text()
    assert "帳票229" in rest.inner_text() and "bad_dates.csv" in rest.inner_text()
    assert_accessible(page)

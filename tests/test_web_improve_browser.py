"""Better drafts on the web (issue 16), in a real browser against ``pilots serve``.

A clerk sends the meeting's handouts with the recording (the worker, the real Whisper
base model, uses their terms), and an admin approves a learned rule on its page by
keyboard; both pages are checked with axe-core.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pilots import db
from pilots.tables import AsrRule, Department, WebJob
from pilots.text import normalize_name
from pilots.web import queue
from tests.browser import assert_accessible, serve, server_env
from tests.test_web_browser import _keyboard_walk
from tests.test_web_queue import cut_clip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[str]:
    """``pilots serve`` (single-user mode: an admin, with its worker) on an empty database."""
    from pilots.asr.modelfiles import resolve_model

    resolve_model("base", model_dir)
    folder = tmp_path_factory.mktemp("improve")
    db_url = f"sqlite:///{folder / 'pilots.db'}"
    with serve(folder, db_url, server_env(folder, model_dir)) as url:
        yield url + "|" + db_url


def _db(server: str) -> Any:
    return db.session_scope(db.session_factory(db.make_engine(server.split("|")[1])))


def test_a_recording_sent_with_handouts_is_drafted_with_their_terms(
    server: str, page: Any, tmp_path: Path
) -> None:
    import docx

    url = server.split("|")[0]
    clip = cut_clip(tmp_path / "rpa定例.wav", 0.0, 8.0)
    agenda = docx.Document()
    for line in ("情報政策課 週次定例 次第", "1 WinActorのシナリオ", "2 電子決裁と庁内LAN"):
        agenda.add_paragraph(line)
    agenda.save(str(tmp_path / "次第.docx"))
    (tmp_path / "資料.txt").write_bytes("業務台帳の更新\n財務会計システム".encode("cp932"))
    page.goto(url + "/minutes")
    assert_accessible(page)
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(clip))
    page.get_by_label("会議資料（任意・複数可）").set_input_files(
        [str(tmp_path / "次第.docx"), str(tmp_path / "資料.txt")]
    )
    page.get_by_label("所属", exact=True).fill("情報政策課")
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text(f"{clip.name}: 受け付けました").wait_for()
    with _db(server) as session:
        job_id = session.query(WebJob.id).filter(WebJob.original_name == clip.name).scalar()
    page.locator(f'tr[data-job="{job_id}"] a[href="/minutes/{job_id}/edit"]').wait_for(
        timeout=300_000
    )
    with _db(server) as session:
        markdown = (queue.output(session, job_id, "md") or b"").decode("utf-8")
    # The draft's header names the step: the handouts' terms joined this job's glossary.
    assert "会議資料の用語" in markdown, markdown[:400]


def test_an_unreadable_handout_is_refused_with_its_name(
    server: str, page: Any, tmp_path: Path
) -> None:
    url = server.split("|")[0]
    clip = cut_clip(tmp_path / "refused.wav", 0.0, 3.0)
    (tmp_path / "壊れた資料.docx").write_bytes(b"not a zip")
    page.goto(url + "/minutes")
    page.get_by_label("録音ファイル（複数選択可）").set_input_files(str(clip))
    page.get_by_label("会議資料（任意・複数可）").set_input_files(str(tmp_path / "壊れた資料.docx"))
    page.get_by_role("button", name="アップロードして文字起こし").click()
    page.get_by_text("会議資料 壊れた資料.docx: 会議資料を読めません").wait_for()
    with _db(server) as session:
        assert session.query(WebJob).filter(WebJob.original_name == clip.name).count() == 0


def test_an_admin_approves_a_learned_rule_by_keyboard(server: str, page: Any) -> None:
    url = server.split("|")[0]
    with _db(server) as session:
        name = "道路管理課"
        dept = Department(name=name, name_key=normalize_name(name))
        session.add(dept)
        session.flush()
        session.add(
            AsrRule(
                department_id=dept.id,
                before="協力",
                after="橋梁",
                jobs=3,
                changed=4,
                unchanged=0,
                contexts=json.dumps(["次に、協力の個別施設計画についてです。"], ensure_ascii=False),
                status="proposed",
                decided_by="",
            )
        )
    page.goto(url + "/minutes")
    page.get_by_role("link", name="置換ルール（修正履歴から学習）を確認する").click()
    page.get_by_role("heading", name="置換ルール（修正履歴から学習）").wait_for()
    row = page.locator("tr[data-rule]")
    assert "次に、協力の個別施設計画についてです。" in row.inner_text()
    assert row.locator('[data-role="status"]').inner_text().startswith("提案")
    assert_accessible(page)
    _keyboard_walk(page)
    approve = page.get_by_role("button", name="ルール #1「協力」→「橋梁」を承認")
    approve.focus()
    page.keyboard.press("Enter")
    page.get_by_text("ルール #1（「協力」→「橋梁」）を承認しました").wait_for()
    assert page.locator('tr[data-rule] [data-role="status"]').inner_text().startswith("承認")
    assert_accessible(page)
    with _db(server) as session:
        assert session.get(AsrRule, 1).status == "approved"

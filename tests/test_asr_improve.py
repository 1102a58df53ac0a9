"""Better drafts (issue 16): the second pass's acceptance rule, handouts, learned rules."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilots import db
from pilots.asr.corrections import finish_correction, reopen_correction
from pilots.asr.glossary import Glossary, GlossaryTerm
from pilots.asr.improve import LearnedRule, accept, apply_rules, best_candidate
from pilots.asr.jobs import record_transcription
from pilots.asr.materials import extract_terms, join_terms, material_terms, read_material
from pilots.asr.result import MeetingInfo, Transcript, Utterance
from pilots.asr.rules import approved_rules, decide_rule, list_rules, mine_rules, substitutions
from pilots.errors import InputFileError, NotFoundError
from tests.conftest import until_a_session_waits_for_a_lock

# --- the acceptance rule ---------------------------------------------------------------------


def _scorer(likelihood: dict[str, float]) -> Callable[[Sequence[str]], list[float]]:
    """Stands in for the model's scores (the real model is in test_asr_real_model.py)."""
    return lambda texts: [likelihood.get(text, -100.0) for text in texts]


def _glossary() -> Glossary:
    return Glossary(
        [GlossaryTerm("橋梁", "キョウリョウ"), GlossaryTerm("業務台帳", "ギョウムダイチョウ")]
    )


def test_candidates_change_the_span_only_and_the_likeliest_within_the_margin_is_kept() -> None:
    text = "次に、協力の個別施設計画についてです。"
    spans = _glossary().near_spans(text, min_score=55, limit=3)
    assert {(text[s.start : s.end], s.term.surface) for s in spans} >= {("協力", "橋梁")}
    scores = {text: -10.0, "次に、橋梁の個別施設計画についてです。": -18.0}
    scored = best_candidate(text, spans, _scorer(scores))
    assert scored is not None
    assert (scored.text, scored.before, scored.after) == (
        "次に、橋梁の個別施設計画についてです。",
        -10,
        -18,
    )
    assert accept(scored, margin=8.0)  # 8 less likely: within the margin
    assert not accept(scored, margin=7.9)
    assert not accept(scored, margin=0.0)


def test_a_short_term_needs_a_closer_reading() -> None:
    # 設定 (セッテイ) is 75 alike to 日程 (ニッテイ): another word, not 日程 misheard.
    glossary = Glossary([GlossaryTerm("日程", "ニッテイ"), GlossaryTerm("公告", "コウコク")])
    assert glossary.near_spans("価格の設定についても調整します。", min_score=55, limit=3) == []
    text = "広告は1月以降になる見込みです。"
    spans = glossary.near_spans(text, min_score=55, limit=3)
    assert [(text[s.start : s.end], s.term.surface, s.alike) for s in spans] == [
        ("広告", "公告", 1.0),
        ("広告は", "公告", 0.8),
    ]


def test_a_span_over_another_term_is_never_a_candidate() -> None:
    # 業務台帳 reads near 道路台帳 but is a term itself: the second pass leaves it alone.
    glossary = Glossary([GlossaryTerm("業務台帳"), GlossaryTerm("道路台帳", "ドウロダイチョウ")])
    assert glossary.near_spans("業務台帳に登録します。", min_score=45, limit=3) == []


# --- handouts --------------------------------------------------------------------------------

AGENDA = [
    "道路管理課 打合せ 次第",
    "1 道路台帳の電子化について（LGWAN経由）",
    "2 橋梁の個別施設計画と長寿命化",
    "3 総合評価落札方式による一般競争入札",
    "キーワード: 府域, 仕様書の更改, 電子入札システム",
]


def _pdf(path: Path, lines: list[str]) -> None:
    """A one-page text PDF, written by hand (Latin text in Helvetica: pypdf reads it back).

    No PDF writer with Japanese fonts is installed; the Japanese text of a PDF is
    extracted by the same pypdf call.
    """
    text = "".join(f"({line}) Tj T* " for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {text}ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))


def test_handouts_in_each_format_give_their_terms(tmp_path: Path) -> None:
    import docx
    import openpyxl

    document = docx.Document()
    for line in AGENDA[:3]:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=1)
    table.rows[0].cells[0].text = AGENDA[4]
    document.save(str(tmp_path / "agenda.docx"))
    book = openpyxl.Workbook()
    for line in AGENDA:
        book.active.append([line, 3])  # numbers are not text
    book.save(tmp_path / "agenda.xlsx")
    (tmp_path / "agenda.txt").write_text("\n".join(AGENDA), encoding="utf-8")
    (tmp_path / "agenda_sjis.txt").write_bytes("\n".join(AGENDA).encode("cp932"))
    _pdf(tmp_path / "agenda.pdf", ["Road ledger: LGWAN and WinActor", "WinActor scenarios"])

    assert "府域" in read_material(tmp_path / "agenda.docx")
    for name in ("agenda.xlsx", "agenda.txt", "agenda_sjis.txt"):
        assert read_material(tmp_path / name).splitlines()[0] == AGENDA[0]
    assert "LGWAN" in read_material(tmp_path / "agenda.pdf")

    terms = {t.surface: t.reading for t in material_terms([tmp_path / "agenda_sjis.txt"], 30)}
    # Compounds, Latin words and single kanji nouns, with their readings.
    assert terms["道路台帳"] == "ドウロダイチョウ"
    assert terms["個別施設計画"] == "コベツシセツケイカク"
    assert "LGWAN" in terms and "更改" in terms and "府域" in terms
    assert not any(surface.isdigit() for surface in terms)
    pdf_terms = [t.surface for t in material_terms([tmp_path / "agenda.pdf"], 30)]
    assert pdf_terms[0] == "WinActor"  # twice, ranked first
    assert len(extract_terms("\n".join(AGENDA), 5)) == 5  # capped


def test_handout_terms_nested_in_or_holding_another_term_stay_out_of_the_glossary() -> None:
    glossary = [GlossaryTerm("財務会計システム"), GlossaryTerm("一般競争入札")]
    handouts = [
        GlossaryTerm("ライセンス"),
        GlossaryTerm("システム"),  # part of 財務会計システム
        GlossaryTerm("財務会計システム入力作業"),  # holds 財務会計システム
        GlossaryTerm("入札"),
        GlossaryTerm("一般競争入札"),  # already there
        GlossaryTerm("契約課"),
    ]
    joined = [t.surface for t in join_terms(glossary, handouts)]
    assert joined == ["財務会計システム", "一般競争入札", "ライセンス", "契約課"]


def test_an_unreadable_handout_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "資料.docx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match=r"資料\.docx"):
        read_material(broken)
    with pytest.raises(InputFileError, match="docx, xlsx, pdf, txt"):
        read_material(tmp_path / "資料.pptx")
    with pytest.raises(InputFileError, match=r"missing\.txt"):
        read_material(tmp_path / "missing.txt")


# --- learned rules ---------------------------------------------------------------------------


def test_mining_a_pair_of_texts_finds_the_substitution_as_whole_words() -> None:
    draft = "来年度以降に更新します。\n電子決済の起案です。"
    corrected = "来年度移行に更新します。\n電子決裁の起案です。"
    found = {(s.before, s.after): s.context for s in substitutions(draft, corrected)}
    assert found == {
        ("以降", "移行"): "来年度以降に更新します。",
        ("決済", "決裁"): "電子決済の起案です。",
    }


def _job(session: Session, dept: str, lines: list[str], day: int) -> int:
    transcript = Transcript(
        audio=Path(f"m{dept}{day}.wav"),
        audio_sha256=f"{dept}{day}".ljust(64, "0"),
        duration=600.0,
        language="ja",
        model="base",
        meeting=MeetingInfo(title="定例会", date=date(2026, 6, day), department=dept),
        utterances=[
            Utterance(start=10.0 * i, end=10.0 * i + 8, text=t, raw_text=t)
            for i, t in enumerate(lines)
        ],
    )
    return record_transcription(session, transcript, [], today=date(2026, 6, day)).job_id


def _finish(session: Session, job_id: int, corrected: str) -> None:
    finish_correction(
        session,
        job_id,
        corrected_text=corrected,
        minutes=20,
        source="editor",
        max_ratio=10,
        default_rate=4,
    )


def test_an_approved_rule_is_used_for_its_department_only(session: Session) -> None:
    for day in (1, 2):
        job = _job(session, "情報政策課", [f"第{day}回、システム以降の件です。"], day)
        _finish(session, job, f"第{day}回、システム移行の件です。\n")
    # Another department made the change once only: not proposed (asr.rules_min_jobs 2).
    other = _job(session, "土木部", ["システム以降の件です。"], 3)
    _finish(session, other, "システム移行の件です。\n")
    assert mine_rules(session, min_jobs=2, max_unchanged_share=0.2) == 1
    [rule] = list_rules(session)
    assert (rule.department, rule.before, rule.after, rule.jobs) == (
        "情報政策課",
        "以降",
        "移行",
        2,
    )
    assert rule.status == "proposed" and rule.contexts[0].startswith("第1回")
    assert approved_rules(session, "情報政策課") == []  # proposed, not yet approved
    decide_rule(session, rule.id, "approved", by="admin", now=datetime(2026, 6, 4))
    mine_rules(session, min_jobs=2, max_unchanged_share=0.2)  # a decision stays
    assert list_rules(session, "情報政策課")[0].status_label == "承認"
    learned = approved_rules(session, "情報政策課")
    assert learned == [LearnedRule(rule.id, "以降", "移行")]
    assert approved_rules(session, "土木部") == []

    # The next draft of that department: replaced, recorded, flagged.
    draft = Transcript(
        audio=Path("next.wav"),
        audio_sha256="n" * 64,
        duration=60.0,
        language="ja",
        model="base",
        utterances=[Utterance(0, 5, "来月以降に切り替えます。", "来月以降に切り替えます")],
    )
    assert apply_rules(draft, learned) == 1
    assert draft.utterances[0].text == "来月移行に切り替えます。"
    [improvement] = draft.improvements
    assert (improvement.kind, improvement.before, improvement.after) == ("rule", "以降", "移行")
    assert draft.utterances[0].flags[0].kind == "rule"


def test_a_conflicting_substitution_is_not_proposed(session: Session) -> None:
    for day in (1, 2):
        job = _job(session, "情報政策課", ["以降の件です。", "以降も続けます。"], day)
        # The clerks changed the first 以降 and kept the second: half unchanged.
        _finish(session, job, "移行の件です。\n以降も続けます。\n")
    assert mine_rules(session, min_jobs=2, max_unchanged_share=0.2) == 0
    assert mine_rules(session, min_jobs=2, max_unchanged_share=0.5) == 1


def test_a_finished_job_is_aligned_once_and_again_when_finished_again(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rules page mines at every view: every finished job's draft and corrected text
    # were aligned again each time (seconds for a two-hour meeting, per job).
    from pilots.asr import rules

    aligned: list[str] = []

    def counted(draft: str, corrected: str) -> list[rules.Substitution]:
        aligned.append(corrected)
        return substitutions(draft, corrected)

    monkeypatch.setattr(rules, "substitutions", counted)
    jobs = [
        _job(session, "情報政策課", [f"第{day}回、システム以降の件です。"], day) for day in (1, 2)
    ]
    for day, job in enumerate(jobs, 1):
        _finish(session, job, f"第{day}回、システム移行の件です。\n")
    assert mine_rules(session, min_jobs=2, max_unchanged_share=0.2) == 1
    assert len(aligned) == 2
    session.expire_all()  # what was kept is read back from the database
    assert mine_rules(session, min_jobs=2, max_unchanged_share=0.2) == 0
    assert len(aligned) == 2  # nothing aligned again
    assert [(r.before, r.after, r.jobs) for r in list_rules(session)] == [("以降", "移行", 2)]
    # Reopened and finished with another correction: that job is aligned anew.
    reopen_correction(session, jobs[1])
    _finish(session, jobs[1], "第2回、システム以降の件です。\n")
    mine_rules(session, min_jobs=2, max_unchanged_share=0.2)
    assert aligned[2:] == ["第2回、システム以降の件です。\n"]
    [rule] = list_rules(session)
    assert (rule.jobs, rule.changed, rule.unchanged) == (1, 1, 1)


def test_two_minings_at_once_propose_a_new_rule_once(engine: Engine) -> None:
    """Two views of the rules page at the same moment both found the same new proposal: on
    PostgreSQL the second waited for the first's row, then failed on the unique constraint
    (an error page). It now takes the first's rule. (SQLite serialises writers.)"""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite serialises writers")
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        for day in (1, 2):
            job = _job(session, "情報政策課", [f"第{day}回、システム以降の件です。"], day)
            _finish(session, job, f"第{day}回、システム移行の件です。\n")
        # Mined once with a stricter setting: nothing proposed, the jobs' alignments kept.
        assert mine_rules(session, min_jobs=3, max_unchanged_share=0.2) == 0
    first = factory()
    result: dict[str, object] = {}

    def second_view() -> None:
        with db.session_scope(factory) as session:
            result["added"] = mine_rules(session, min_jobs=2, max_unchanged_share=0.2)
            result["rules"] = [(r.before, r.after, r.jobs) for r in list_rules(session)]

    worker = threading.Thread(target=second_view, daemon=True)
    try:
        first.begin()
        assert mine_rules(first, min_jobs=2, max_unchanged_share=0.2) == 1
        worker.start()
        until_a_session_waits_for_a_lock(engine)  # the second's insert, on the first's row
        first.commit()
        worker.join(timeout=30)
        assert not worker.is_alive()
    finally:
        first.rollback()
        first.close()
    assert result == {"added": 0, "rules": [("以降", "移行", 2)]}


def test_deciding_an_unknown_rule_is_refused(session: Session) -> None:
    with pytest.raises(NotFoundError, match="ルール #99"):
        decide_rule(session, 99, "approved", by="", now=datetime(2026, 6, 4))


def test_rules_on_the_command_line(pilots: object) -> None:
    run = pilots  # the fixture runs `pilots` in-process on a fresh database
    listed = run("asr", "rules", "list")  # type: ignore[operator]
    assert "ルール 0件" in listed.output
    refused = run("asr", "rules", "approve", "7", ok=False)  # type: ignore[operator]
    assert refused.exit_code != 0
    assert "エラー: ルール #7 はありません" in refused.stderr


def test_an_unreadable_handout_stops_transcribe_before_anything(
    pilots: object, tmp_path: Path, sample_formats: dict[str, Path]
) -> None:
    run = pilots
    result = run(  # type: ignore[operator]
        "asr",
        "transcribe",
        str(sample_formats["wav"]),
        "-o",
        str(tmp_path / "out"),
        "--materials",
        str(tmp_path / "ない資料.pdf"),
        ok=False,
    )
    assert result.exit_code != 0
    assert result.stderr.strip().splitlines() == [
        f"エラー: {tmp_path / 'ない資料.pdf'}: 会議資料が見つかりません"
    ]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    jobs = run("asr", "jobs", "--json")  # type: ignore[operator]
    assert json.loads(jobs.output) == []

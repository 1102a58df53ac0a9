"""The draft accuracy through the command line (SPEC §3): corrected files, pooled rates, summary.

The year of :func:`_year`, computed by hand (default baseline rate 4.0 h per audio hour;
edits after NFKC without whitespace and punctuation):

    A 総務課 base      10 min  editor 12 min  LG1の接続について|フィキの会議を始めます
                                              → LGWANの…|府域の…: S3 I1 D2 = 6 of 22
    B 人事課 large-v3  20 min  self 30 min, corrected.txt: 会議を始めます → 会議を始めました:
                                              S1 D1 = 2 of 8
    C 人事課 base      10 min  self 20 min, no corrected text       → not compared
    D 総務課 base      10 min  editor, then reopened                → not finished
    E 財政課 (import)  60 min  self 90 min                          → no draft
    F 総務課 base      silent recording                             → left out of everything

    pooled: 8 edits of 30 characters (S4 I1 D3) → CER 26.67%, 認識精度 73.33%
    saved:  editor A: 1/6 h × 4 − 0.2 h = 0.466667 (per audio hour: correction 1.2, saved 2.8)
            self B+C+E: audio 1.5 h, baseline 6 h, correction 2.333333 h, saved 3.666667
                        (per audio hour: correction 1.555556, saved 2.444444)
            all: 4.133333 h over 4 jobs
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots import db
from pilots.asr.corrections import finish_correction, reopen_correction
from pilots.asr.minutes import write_outputs
from pilots.tables import AsrCorrection, AsrJob
from tests.conftest import Pilots, drafted_job, drafted_transcript

DRAFT = ["LG1の接続について。", "フィキの会議を始めます。"]


@contextmanager
def _session(pilots: Pilots) -> Iterator[Session]:
    engine = db.make_engine(pilots.db_url)
    try:
        with db.session_scope(db.session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _job(pilots: Pilots, job_id: int) -> AsrJob:
    with _session(pilots) as session:
        job = session.get(AsrJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _drafts(tmp_path: Path) -> dict[str, Path]:
    """The draft of DRAFT in docx, md and txt, written by the project's own minutes writer."""
    files = write_outputs(drafted_transcript(DRAFT), tmp_path / "drafts", ["docx", "md", "txt"])
    return {f.suffix: f for f in files}


def _replace_in_docx(source: Path, target: Path, old: str, new: str) -> None:
    document = docx.Document(str(source))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            run.text = run.text.replace(old, new)
    document.save(str(target))


# --- pilots asr correction JOB MINUTES --corrected FILE ------------------------------------


def test_a_corrected_word_file_gives_the_draft_accuracy(pilots: Pilots, tmp_path: Path) -> None:
    with _session(pilots) as session:
        job_id = drafted_job(session, DRAFT)
    drafts = _drafts(tmp_path)
    corrected = tmp_path / "修正後.docx"
    _replace_in_docx(drafts[".docx"], corrected, "LG1", "LGWAN")
    _replace_in_docx(corrected, corrected, "フィキ", "府域")
    out = pilots("asr", "correction", str(job_id), "30", "--corrected", str(corrected)).output
    lines = out.splitlines()
    assert lines[0].startswith(f"ジョブ #{job_id}: 修正時間 30分（自己申告）")
    assert lines[1] == (
        "認識精度 72.7%（文字誤り率 27.3% = 編集 6文字 ÷ 修正後 22文字。置換 3、挿入 1、脱落 2）"
        f"（{corrected} の本文 2段落と議事録案を比べました）"
    )
    job = _job(pilots, job_id)
    assert (job.correction_source, job.corrected_characters, job.cer) == (
        "self-reported",
        22,
        pytest.approx(6 / 22),
    )
    with _session(pilots) as session:
        (entry,) = session.scalars(select(AsrCorrection))
        assert (entry.action, entry.corrected_file) == ("finish", str(corrected))


def test_markdown_and_text_drafts_read_back_as_the_same_body(
    pilots: Pilots, tmp_path: Path
) -> None:
    with _session(pilots) as session:
        job_id = drafted_job(session, DRAFT)
    drafts = _drafts(tmp_path)
    for suffix in (".md", ".txt"):
        corrected = tmp_path / f"修正後{suffix}"
        text = drafts[suffix].read_text(encoding="utf-8")
        corrected.write_text(text.replace("フィキ", "府域"), encoding="utf-8")
        data = json.loads(
            pilots(
                "asr", "correction", str(job_id), "30", "--corrected", str(corrected), "--json"
            ).output
        )
        # フィキ → 府域: two substitutions and one character too many, of 20.
        assert data["compared"] is True, suffix
        assert data["job"]["accuracy"] == {
            "characters": 20,
            "substitutions": 2,
            "insertions": 1,
            "deletions": 0,
        }, suffix


def test_a_draft_with_speakers_handed_back_unchanged_has_no_edit(
    pilots: Pilots, tmp_path: Path
) -> None:
    # The drafts write 議長：… ; the draft the accuracy compares with must too, or
    # every speaker label counted as characters the draft left out (5 of 25).
    from datetime import date

    from pilots.asr.jobs import record_transcription

    transcript = drafted_transcript(DRAFT)
    for utterance, speaker in zip(transcript.utterances, ("議長", "主査"), strict=True):
        utterance.speaker = speaker
    with _session(pilots) as session:
        job_id = record_transcription(session, transcript, [], today=date(2019, 6, 3)).job_id
    files = write_outputs(transcript, tmp_path / "drafts", ["docx", "md", "txt"])
    for file in files:
        args = ("asr", "correction", str(job_id), "30", "--corrected", str(file), "--json")
        data = json.loads(pilots(*args).output)
        assert data["job"]["accuracy"] == {
            "characters": 25,
            "substitutions": 0,
            "insertions": 0,
            "deletions": 0,
        }, file.suffix


def test_tracked_changes_in_word_are_read_as_accepted(pilots: Pilots, tmp_path: Path) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    with _session(pilots) as session:
        job_id = drafted_job(session, DRAFT)
    document = docx.Document(str(_drafts(tmp_path)[".docx"]))
    (paragraph,) = [p for p in document.paragraphs if "フィキ" in p.text]
    for run in paragraph.runs:
        run.text = run.text.replace("フィキの", "")
    # Word's 変更履歴: フィキ deleted, 府域 inserted, both still in the file.
    w = nsdecls("w")
    deleted = (
        f'<w:del {w} w:id="1" w:author="職員"><w:r><w:delText>フィキ</w:delText></w:r></w:del>'
    )
    inserted = f'<w:ins {w} w:id="2" w:author="職員"><w:r><w:t>府域の</w:t></w:r></w:ins>'
    paragraph._p.append(parse_xml(deleted))
    paragraph._p.append(parse_xml(inserted))
    corrected = tmp_path / "変更履歴.docx"
    document.save(str(corrected))
    args = ("asr", "correction", str(job_id), "30", "--corrected", str(corrected), "--json")
    data = json.loads(pilots(*args).output)
    # The paragraph reads 会議を始めます。府域の: the words moved, the deleted フィキ is gone.
    accuracy = data["job"]["accuracy"]
    assert accuracy["characters"] == len("LG1の接続について会議を始めます府域の")


def test_refused_corrected_files_and_times_store_nothing(pilots: Pilots, tmp_path: Path) -> None:
    with _session(pilots) as session:
        job_id = drafted_job(session, DRAFT)
    drafts = _drafts(tmp_path)
    no_stamps = tmp_path / "時刻なし.docx"
    document = docx.Document(str(drafts[".docx"]))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            run.text = run.text.replace("[00:00:00] ", "").replace("[00:00:10] ", "")
    document.save(str(no_stamps))
    picture = tmp_path / "写真.png"
    picture.write_bytes(b"\x89PNG\r\n")
    cases = [
        (["30", "--corrected", str(no_stamps)], f"エラー: {no_stamps}: 本文が見つかりません"),
        (["30", "--corrected", str(picture)], f"エラー: {picture}: 修正後の議事録は Word"),
        (["30", "--corrected", str(tmp_path / "ない.docx")], "エラー: "),
        (["nan", "--corrected", str(drafts[".docx"])], "エラー: 修正時間: 数値ではありません: nan"),
        (["inf"], "エラー: 修正時間: 数値ではありません: inf"),
        (["--", "-1"], "エラー: 修正時間: 0以上の分数にしてください: -1"),
        (["100.5", "--corrected", str(drafts[".docx"])], "（100分）を超えています"),
    ]
    for args, said in cases:
        refused = pilots("asr", "correction", str(job_id), *args, ok=False)
        assert refused.exit_code != 0, args
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("エラー: ") and said in line, (args, line)
    job = _job(pilots, job_id)
    assert (job.correction_minutes, job.corrected_characters) == (None, None)
    with _session(pilots) as session:
        assert list(session.scalars(select(AsrCorrection))) == []


# --- pilots asr accuracy and pilots asr summary ---------------------------------------------


def _year(pilots: Pilots, tmp_path: Path) -> dict[str, int]:
    """The jobs A–F of the module docstring."""
    from datetime import date

    kwargs = {"max_ratio": 10.0, "default_rate": 4.0}
    with _session(pilots) as session:
        a = drafted_job(session, DRAFT, sha="a" * 64)
        b = drafted_job(
            session, ["会議を始めます"], sha="b" * 64, department="人事課",
            day=date(2019, 7, 1), seconds=1200.0, model="large-v3",
        )  # fmt: skip
        c = drafted_job(session, ["会議"], sha="c" * 64, department="人事課", day=date(2019, 8, 1))
        d = drafted_job(session, ["会議"], sha="d" * 64, day=date(2019, 9, 1))
        f = drafted_job(session, [], sha="f" * 64, day=date(2019, 9, 2))
        finish_correction(
            session, a, corrected_text="LGWANの接続について。\n府域の会議を始めます。",
            minutes=12, source="editor", **kwargs,
        )  # fmt: skip
        finish_correction(session, d, corrected_text="会議", minutes=5, source="editor", **kwargs)
        reopen_correction(session, d)
    text = tmp_path / "b.txt"
    text.write_text("会議を始めました\n", encoding="utf-8")
    pilots("asr", "correction", str(b), "30", "--corrected", str(text))
    pilots("asr", "correction", str(c), "20")
    usage = tmp_path / "usage.csv"
    usage.write_text("所属,会議日,録音時間(分),修正時間(分)\n財政課,2019/10/1,60,90\n", "utf-8")
    pilots("asr", "import", str(usage))
    (e,) = [j["job_id"] for j in json.loads(pilots("asr", "jobs", "--json").output)
            if j["source"] == "import"]  # fmt: skip
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f}


FINAL = ("--fy", "2019", "--period", "final")


def test_the_pooled_accuracy_and_the_jobs_without_one(pilots: Pilots, tmp_path: Path) -> None:
    jobs = _year(pilots, tmp_path)
    data = json.loads(pilots("asr", "accuracy", *FINAL, "--by", "department", "--json").output)
    assert data["overall"] == {
        "jobs": 2,
        "characters": 30,
        "edits": 8,
        "substitutions": 4,
        "insertions": 1,
        "deletions": 3,
        "cer": pytest.approx(8 / 30),
        "recognition_accuracy": pytest.approx(22 / 30),
    }
    assert [(g["name"], g["jobs"], g["characters"], g["edits"]) for g in data["groups"]] == [
        ("人事課", 1, 8, 2),
        ("総務課", 1, 22, 6),
    ]
    assert sorted((w["job_id"], w["reason"]) for w in data["without"]) == sorted(
        [(jobs["C"], "not_compared"), (jobs["D"], "not_finished"), (jobs["E"], "import")]
    )
    assert data["without_by_reason"] == {"import": 1, "not_finished": 1, "not_compared": 1}
    by_model = json.loads(pilots("asr", "accuracy", *FINAL, "--by", "model", "--json").output)
    assert [(g["name"], g["edits"]) for g in by_model["groups"]] == [("base", 6), ("large-v3", 2)]
    text = pilots("asr", "accuracy", *FINAL, "--by", "department").output
    assert (
        "認識精度 73.3%（文字誤り率 26.7% = 編集 8文字 ÷ 修正後 30文字、ジョブ 2件。"
        "置換 4、挿入 1、脱落 3）"
    ) in text
    assert "認識精度を測っていないジョブ 3件" in text
    # The jobs a clerk can still do something about are listed; imports only counted.
    assert f"\n{jobs['C']} " in text and f"\n{jobs['D']} " in text
    assert f"\n{jobs['E']} " not in text


def test_the_summary_counts_each_source_and_shows_the_saving_both_ways(
    pilots: Pilots, tmp_path: Path
) -> None:
    _year(pilots, tmp_path)
    data = json.loads(pilots("asr", "summary", *FINAL, "--json").output)
    assert (data["measured_jobs"], data["hours_saved"]) == (4, pytest.approx(4.133333))
    correction = data["correction"]
    assert {"measured_jobs", "self_reported_jobs"} <= correction.keys()
    assert (correction["measured_jobs"], correction["self_reported_jobs"]) == (1, 3)
    assert correction["both"] is True
    editor, reported = correction["by_source"]
    assert editor == {
        "source": "editor",
        "label": "計測",
        "jobs": 1,
        "audio_hours": pytest.approx(1 / 6, abs=1e-6),
        "baseline_hours": pytest.approx(2 / 3, abs=1e-6),
        "correction_hours": pytest.approx(0.2),
        "hours_saved": pytest.approx(0.466667),
        "correction_hours_per_audio_hour": pytest.approx(1.2),
        "hours_saved_per_audio_hour": pytest.approx(2.8),
    }
    assert (reported["jobs"], reported["hours_saved"]) == (3, pytest.approx(3.666667))
    assert reported["correction_hours_per_audio_hour"] == pytest.approx(1.555556)
    assert reported["hours_saved_per_audio_hour"] == pytest.approx(2.444444)
    assert {"jobs", "characters", "edits", "cer"} <= data["accuracy"].keys()
    assert (data["accuracy"]["jobs"], data["accuracy"]["characters"]) == (2, 30)
    assert (data["accuracy"]["edits"], data["accuracy"]["cer"]) == (8, pytest.approx(8 / 30))
    text = pilots("asr", "summary", *FINAL).output
    assert "修正時間の出どころ: 計測（修正エディタ） 1件、自己申告 3件" in text
    assert "うち計測の1件: 削減 0.5時間（録音1時間あたり 修正 1.20時間、削減 2.80時間）" in text
    assert "うち自己申告の3件: 削減 3.7時間（録音1時間あたり 修正 1.56時間、削減 2.44時間）" in text
    assert "認識精度 73.3%" in text

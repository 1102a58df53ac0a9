"""The correction editor's library: the document and its operations, the active-time rule, marks."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.asr import activity, editing
from pilots.asr.marks import word_spans
from pilots.asr.result import Word
from pilots.tables import AsrJob, EditLogEntry

NOW = datetime(2026, 12, 1, 9, 0)
SEGMENTS = [
    {
        "start": 0.0,
        "end": 4.0,
        "text": "LG1の更新です。",
        "words": [
            {"start": 0.0, "end": 0.8, "text": "LG", "probability": 0.31},
            {"start": 0.8, "end": 1.2, "text": "1", "probability": 0.12},
            {"start": 1.2, "end": 1.5, "text": "の", "probability": 0.95},
            {"start": 1.5, "end": 2.5, "text": "更新", "probability": 0.9},
            {"start": 2.5, "end": 3.5, "text": "です", "probability": 0.97},
        ],
        "flags": [],
        "speaker": "話者1",
    },
    {
        "start": 5.0,
        "end": 9.0,
        "text": "フィキの皆さん。",
        "words": [],
        "flags": [{"kind": "low_logprob", "reason": "認識の確からしさが低い箇所"}],
    },
    {"start": 9.0, "end": 9.5, "text": "", "words": [], "flags": []},  # a filler, removed
    {"start": 10.0, "end": 12.0, "text": "以上です。", "words": [], "flags": []},
]


def _document(session: Session) -> int:
    job = AsrJob(
        source="pilots",
        title="定例",
        meeting_date=date(2020, 2, 14),
        audio_seconds=12.0,
        draft_json=json.dumps(SEGMENTS, ensure_ascii=False),
    )
    session.add(job)
    session.flush()
    assert editing.open_document(session, job.id, now=NOW) is not None
    return job.id


def _save(session: Session, job_id: int, version: int, *ops: dict[str, object]) -> int:
    result = editing.save_edits(
        session, job_id, expected_version=version, ops=list(ops), tab="tab1", user="sato", now=NOW
    )
    return result.version


def _texts(session: Session, job_id: int) -> list[str]:
    document = editing.load_document(session, job_id)
    assert document is not None
    return [u.text for u in document.utterances]


def test_the_document_is_made_from_the_draft(session: Session) -> None:
    job_id = _document(session)
    document = editing.load_document(session, job_id)
    assert document is not None and document.version == 0
    assert [u.id for u in document.utterances] == ["u0", "u1", "u3"]  # the empty one is left out
    first = document.utterances[0]
    assert first.speaker == "話者1"
    # The words are placed on the text: LG at 0–2, 1 at 2–3 … with their probabilities.
    assert [(w[0], w[1], w[3]) for w in first.words][:2] == [(0, 2, 0.31), (2, 3, 0.12)]
    assert document.utterances[1].flags == ("認識の確からしさが低い箇所",)
    assert document.draft_text == "LG1の更新です。\nフィキの皆さん。\n以上です。"
    # Marks below a threshold of 0.5: LG and 1 (adjacent, two marks), nothing else.
    pieces = editing.marked_pieces(first, 0.5)
    assert pieces == [("LG", 0.31), ("1", 0.12), ("の更新です。", None)]


def test_operations_split_merge_insert_delete_restore(session: Session) -> None:
    job_id = _document(session)
    version = _save(session, job_id, 0, {"op": "split", "id": "u0", "at": 3, "new": "n1"})
    assert _texts(session, job_id) == ["LG1", "の更新です。", "フィキの皆さん。", "以上です。"]
    document = editing.load_document(session, job_id)
    assert document is not None
    head, tail = document.utterances[:2]
    # The cut is timed at the first word after it (の at 1.2 s), and the words go with their text.
    assert (head.start, head.end, tail.start, tail.end) == (0.0, 1.2, 1.2, 4.0)
    assert [w[:2] for w in tail.words] == [(0, 1), (1, 3), (3, 5)]
    assert tail.speaker == "話者1"
    version = _save(
        session,
        job_id,
        version,
        {"op": "merge", "id": "u0", "next": "n1"},
        {"op": "insert", "after": "u1", "new": "n2", "text": "（発言なし）", "speaker": ""},
        {"op": "delete", "id": "u3"},
    )
    assert _texts(session, job_id) == ["LG1の更新です。", "フィキの皆さん。", "（発言なし）"]
    version = _save(session, job_id, version, {"op": "restore", "id": "u3"})
    assert _texts(session, job_id)[-1] == "以上です。"
    # Undo of a merge is a split that brings the absorbed utterance back under its own id.
    version = _save(session, job_id, version, {"op": "split", "id": "u0", "at": 3, "new": "n1"})
    assert _texts(session, job_id)[:2] == ["LG1", "の更新です。"]
    assert version == 4
    log = session.scalars(select(EditLogEntry).order_by(EditLogEntry.version)).all()
    assert [e.version for e in log] == [1, 2, 3, 4]
    assert json.loads(log[1].ops)[2] == {"op": "delete", "id": "u3"}
    assert {(e.tab, e.user_name) for e in log} == {("tab1", "sato")}


def test_a_text_change_keeps_the_marks_of_the_unchanged_words_only(session: Session) -> None:
    job_id = _document(session)
    _save(session, job_id, 0, {"op": "text", "id": "u0", "text": "LGWANの更新です。"})
    document = editing.load_document(session, job_id)
    assert document is not None
    words = document.utterances[0].words
    # "LG" still stands at 0–2; "1" was corrected (its mark has done its job); の更新です moved.
    assert [(w[0], w[1]) for w in words] == [(0, 2), (5, 6), (6, 8), (8, 10)]


def test_a_save_made_on_an_older_version_is_refused_and_changes_nothing(
    session: Session,
) -> None:
    job_id = _document(session)
    _save(session, job_id, 0, {"op": "text", "id": "u1", "text": "府域の皆さん。"})
    with pytest.raises(editing.VersionConflict) as raised:
        _save(session, job_id, 0, {"op": "text", "id": "u1", "text": "別のタブの文"})
    assert raised.value.version == 1
    assert _texts(session, job_id)[1] == "府域の皆さん。"


def test_a_bad_operation_keeps_nothing_of_its_save(db_url: str) -> None:
    from pilots import db

    engine = db.make_engine(db_url)
    db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.session_scope(factory) as session:
        job_id = _document(session)
    for bad, said in (
        ({"op": "shout", "id": "u0"}, "知らない操作です"),
        ({"op": "text", "id": "u9", "text": "x"}, "発言 u9 はありません"),
        ({"op": "split", "id": "u0", "at": 99, "new": "n1"}, "分割する位置が正しくありません"),
        ({"op": "merge", "id": "u0", "next": "u3"}, "の次は"),
        ({"op": "text", "id": "../u0", "text": "x"}, "発言の番号ではありません"),
    ):
        with pytest.raises(editing.EditError, match=said), db.session_scope(factory) as session:
            _save(session, job_id, 0, {"op": "text", "id": "u0", "text": "保存されない"}, bad)
    with db.session_scope(factory) as session:
        assert _texts(session, job_id)[0] == "LG1の更新です。"
        assert editing.load_document(session, job_id).version == 0  # type: ignore[union-attr]
    engine.dispose()


def test_speaker_names_and_a_finished_document_is_frozen(session: Session) -> None:
    job_id = _document(session)
    version = _save(
        session,
        job_id,
        0,
        {"op": "name", "label": "話者1", "name": "議長"},
        {"op": "speaker", "id": "u3", "speaker": "話者1"},
    )
    document = editing.load_document(session, job_id)
    assert document is not None
    assert [document.speaker_name(u.speaker) for u in document.utterances] == ["議長", "", "議長"]
    editing.set_state(session, job_id, editing.FINISHED, tab="t", user="sato", now=NOW)
    with pytest.raises(editing.DocumentFinished):
        _save(session, job_id, version + 1, {"op": "text", "id": "u0", "text": "x"})


# --- the active-time rule (SPEC §3) ---------------------------------------------------------

GAP = 120_000  # asr.idle_gap_seconds = 120, in ms


def test_active_time_joins_moments_within_the_gap_and_skips_longer_gaps() -> None:
    stretches = activity.extend_stretches(None, [0, 30_000, 150_000, 400_000, 410_000], [], GAP)
    # 0 → 30 s → 150 s (gaps 30 s and 120 s: joined); 150 → 400 s is 250 s: not counted.
    assert [(s.start_ms, s.end_ms) for s in stretches] == [(0, 150_000), (400_000, 410_000)]
    assert activity.union_seconds((s.start_ms, s.end_ms) for s in stretches) == 160.0


def test_hiding_the_page_ends_a_stretch() -> None:
    stretches = activity.extend_stretches(None, [0, 10_000, 60_000], [20_000], GAP)
    # Hidden at 20 s: 0–20 s counts, the 40 s until the next moment do not.
    assert [(s.start_ms, s.end_ms, s.open) for s in stretches] == [
        (0, 20_000, False),
        (60_000, 60_000, True),
    ]


def test_two_tabs_with_overlapping_activity_count_once(session: Session) -> None:
    job_id = _document(session)

    def report(tab: str, moments: list[int], hidden: list[int] | None = None) -> None:
        activity.record_activity(
            session, job_id, tab=tab, user="sato", moments=moments, hidden=hidden or [],
            idle_gap_seconds=120,
        )  # fmt: skip

    base = 1_800_000_000_000
    # Tab A: 0–100 s (in two reports: the stretch goes on), then 500–560 s after a long gap.
    report("A", [base, base + 60_000])
    report("A", [base + 100_000])
    report("A", [base + 500_000, base + 560_000])
    # Tab B: 80–200 s overlaps A's 0–100 s; hidden at 230 s ends it there (within the gap).
    report("B", [base + 80_000, base + 200_000], [base + 230_000])
    # Union: 0–230 s and 500–560 s = 230 + 60 s.
    assert activity.active_seconds(session, job_id) == 290.0
    assert activity.recent_tabs(session, job_id, "A", base + 300_000, 120) == 1
    assert activity.recent_tabs(session, job_id, "A", base + 400_000, 120) == 0


def test_activity_reports_that_are_not_times_are_refused(session: Session) -> None:
    job_id = _document(session)
    for bad in (["x"], [True], [-5], [float("inf")], list(range(1, 6000))):
        with pytest.raises(activity.ActivityError):
            activity.record_activity(
                session, job_id, tab="A", user="", moments=bad, idle_gap_seconds=120
            )


# --- uncertain words on the post-processed text ----------------------------------------------


def test_words_are_placed_on_the_post_processed_text() -> None:
    words = [
        Word(0.0, 0.5, "え、", 0.4),
        Word(0.5, 1.0, "三", 0.2),
        Word(1.0, 1.5, "件", 0.9),
        Word(1.5, 2.0, "の", 0.95),
        Word(2.0, 3.0, "電子決策", 0.3),
    ]
    # Post-processing removed the filler, wrote 3 for 三, corrected 電子決裁 by the glossary.
    spans = word_spans("3件の電子決裁。", words)
    assert [(s.first, s.end, s.probability) for s in spans] == [
        (0, 1, 0.2),
        (1, 2, 0.9),
        (2, 3, 0.95),
        (3, 7, 0.3),
    ]

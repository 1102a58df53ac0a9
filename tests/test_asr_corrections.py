"""Finishing and reopening corrections (SPEC §3): sources, plausibility, draft accuracy, history."""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pilots import db
from pilots.asr.corrections import (
    NO_DRAFT_IMPORTED,
    NO_DRAFT_STORED,
    CorrectionResult,
    finish_correction,
    reopen_correction,
)
from pilots.asr.jobs import list_jobs
from pilots.asr.metrics import Accuracy, measure_accuracy, normalise_for_cer
from pilots.errors import ConfigError, NotFoundError, StateError
from pilots.tables import AsrCorrection, AsrJob, Base, WebJob, WebJobOutput
from tests.conftest import drafted_job

DEFAULT = 4.0
RATIO = 10.0

# --- the CER, computed by hand --------------------------------------------------------------


def test_identical_texts_have_no_edits() -> None:
    accuracy = measure_accuracy("本日は晴天なり", "本日は晴天なり")
    assert accuracy == Accuracy(characters=7, substitutions=0, insertions=0, deletions=0)
    assert accuracy.cer == 0.0


def test_only_spacing_and_punctuation_changed_is_no_edit() -> None:
    # NFKC makes ％ a %, which is kept (a spoken word); 、。 spaces and line ends go.
    draft = "はい、 実施率は28％です\n「ＬＧＷＡＮ」〜"
    corrected = "はい。実施率は、28%です。LGWAN～"
    assert normalise_for_cer(draft) == normalise_for_cer(corrected) == "はい実施率は28%ですLGWAN"
    accuracy = measure_accuracy(draft, corrected)
    assert (accuracy.edits, accuracy.characters, accuracy.cer) == (0, 16, 0.0)


def test_edit_counts_by_kind_against_the_corrected_text() -> None:
    # 今日はは晴れです → 今日は雨です: 「は晴れ」 becomes 「雨」: one substitution and two
    # characters the clerk deleted (the draft inserted them): 3 edits over 6 characters.
    accuracy = measure_accuracy("今日はは晴れです", "今日は雨です")
    assert accuracy == Accuracy(characters=6, substitutions=1, insertions=2, deletions=0)
    assert accuracy.cer == 0.5
    # 予算案を審議 → 来年度の予算案を審議します: 7 characters the draft lacked, of 13.
    missing = measure_accuracy("予算案を審議", "来年度の予算案を審議します")
    assert missing == Accuracy(characters=13, substitutions=0, insertions=0, deletions=7)
    assert missing.cer == pytest.approx(7 / 13)
    # The draft: LGWAN → 「LG1」 (1 → W, A and N missing), 府域 → 「フィキ」
    # (two substitutions, one character too many): S3 I1 D2 over 8 characters.
    lgwan = measure_accuracy("LG1のフィキ", "LGWANの府域")
    assert lgwan == Accuracy(characters=8, substitutions=3, insertions=1, deletions=2)
    assert lgwan.edits == 6 and lgwan.cer == 0.75


def test_an_empty_corrected_text_has_no_rate() -> None:
    accuracy = measure_accuracy("あいう", "。 ")
    assert accuracy == Accuracy(characters=0, substitutions=0, insertions=3, deletions=0)
    assert accuracy.cer is None
    assert measure_accuracy("", "").cer is None


# --- the schema -----------------------------------------------------------------------------


def test_migration_matches_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "asr_jobs" in str(d) or "asr_corrections" in str(d)] == []


def test_correction_times_reported_before_the_upgrade_become_self_reported(db_url: str) -> None:
    from alembic import command

    engine = db.make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0011")
        conn.execute(
            text(
                "INSERT INTO asr_jobs (source, title, meeting_date, audio_seconds, outputs,"
                " no_speech, correction_minutes, corrected_at) VALUES"
                " ('pilots', '報告あり', '2019-06-03', 600, '', false, 30, '2019-06-10 09:00:00'),"
                " ('pilots', '未報告', '2019-06-04', 600, '', false, NULL, NULL)"
            )
        )
    db.upgrade(engine)
    with db.session_scope(db.session_factory(engine)) as session:
        rows = session.execute(
            select(AsrJob.title, AsrJob.correction_source, AsrJob.finished_at).order_by(AsrJob.id)
        ).all()
    engine.dispose()
    assert rows == [
        ("報告あり", "self-reported", datetime(2019, 6, 10, 9, 0)),
        ("未報告", None, None),
    ]


# --- finishing and reopening ------------------------------------------------------------------


def _drafted(session: Session, texts: list[str] | None = None) -> int:
    return drafted_job(session, texts or ["LG1の接続について。", "フィキの会議を始めます。"])


def _finish(
    session: Session,
    job_id: int,
    corrected: str | None,
    minutes: float,
    source: str = "editor",
    **extra: object,
) -> CorrectionResult:
    return finish_correction(
        session,
        job_id,
        corrected_text=corrected,
        minutes=minutes,
        source=source,
        max_ratio=RATIO,
        default_rate=DEFAULT,
        **extra,  # type: ignore[arg-type]
    )


def _history(session: Session, job_id: int) -> list[tuple[object, ...]]:
    return [
        tuple(r)
        for r in session.execute(
            select(
                AsrCorrection.action,
                AsrCorrection.source,
                AsrCorrection.minutes,
                AsrCorrection.cer,
                AsrCorrection.done_by,
            )
            .where(AsrCorrection.job_id == job_id)
            .order_by(AsrCorrection.id)
        )
    ]


def test_the_draft_segments_are_kept_with_the_job(session: Session) -> None:
    job = session.get(AsrJob, _drafted(session))
    assert job is not None and job.draft_json is not None
    segments = json.loads(job.draft_json)
    assert [s["text"] for s in segments] == ["LG1の接続について。", "フィキの会議を始めます。"]
    assert segments[1]["start"] == 10.0
    assert segments[1]["words"] == [
        {"start": 10.0, "end": 11.0, "text": "フィ", "probability": 0.42}
    ]


def test_finishing_in_the_editor_stores_time_source_accuracy_and_history(
    session: Session,
) -> None:
    job_id = _drafted(session)
    result = _finish(
        session,
        job_id,
        "LGWANの接続について。\n府域の会議を始めます。",
        12.5,
        finished_by="yamada",
        when=datetime(2019, 6, 5, 10, 0),
    )
    # Draft LG1の接続について|フィキの会議を始めます (21) vs LGWAN…|府域… (22): as the unit
    # test above, S3 I1 D2 = 6 edits over 22 characters.
    expected = Accuracy(characters=22, substitutions=3, insertions=1, deletions=2)
    assert result.compared and result.accuracy_note == ""
    assert result.job.accuracy == expected
    assert result.job.correction_source == "editor"
    assert result.job.correction_minutes == 12.5
    # 10 min × 4.0 h/h − 12.5 min = 40 − 12.5 minutes saved.
    assert result.job.hours_saved == pytest.approx((40 - 12.5) / 60)
    job = session.get(AsrJob, job_id)
    assert job is not None
    assert (job.finished_at, job.finished_by) == (datetime(2019, 6, 5, 10, 0), "yamada")
    assert job.cer == pytest.approx(6 / 22)
    assert _history(session, job_id) == [
        ("finish", "editor", 12.5, pytest.approx(6 / 22), "yamada")
    ]


def test_an_editor_time_above_the_self_report_limit_is_taken_as_measured(session: Session) -> None:
    job_id = _drafted(session)
    # 150 minutes for a 10-minute recording: refused when typed, taken when measured.
    with pytest.raises(ConfigError, match="を超えています"):
        _finish(session, job_id, None, 150, "self-reported")
    result = _finish(session, job_id, None, 150, "editor")
    assert result.job.correction_minutes == 150


@pytest.mark.parametrize(
    ("source", "minutes", "said"),
    [
        ("self-reported", math.nan, "数値ではありません: nan"),
        ("self-reported", math.inf, "数値ではありません: inf"),
        ("self-reported", -1.0, "0以上の分数にしてください: -1"),
        ("self-reported", 100.5, "100.5分は録音の長さ（10分）の10倍（100分）を超えています"),
        ("editor", math.nan, "数値ではありません: nan"),
        ("editor", -0.5, "0以上の分数にしてください: -0.5"),
        ("editor", math.inf, "数値ではありません: inf"),
    ],
)
def test_a_refused_time_stores_nothing(
    session: Session, source: str, minutes: float, said: str
) -> None:
    job_id = _drafted(session)
    with pytest.raises(ConfigError, match=re.escape(f"修正時間: {said}")):
        _finish(session, job_id, "LGWANの接続について。", minutes, source)
    job = session.get(AsrJob, job_id)
    assert job is not None
    assert (job.correction_minutes, job.correction_source, job.cer) == (None, None, None)
    assert _history(session, job_id) == []


def test_an_unknown_source_or_job_is_refused(session: Session) -> None:
    job_id = _drafted(session)
    with pytest.raises(ConfigError, match="source: manual は修正時間の出どころではありません"):
        _finish(session, job_id, None, 5, "manual")
    with pytest.raises(NotFoundError, match="ジョブ #999 はありません"):
        reopen_correction(session, 999)


def test_reopening_keeps_the_accuracy_as_history_but_not_on_the_job(session: Session) -> None:
    job_id = _drafted(session, ["会議を始めます"])
    # 1 substitution (す→し) and 1 character the draft lacks (た), of 8.
    _finish(session, job_id, "会議を始めました", 20, finished_by="yamada")
    reopen_correction(session, job_id, by="sato", when=datetime(2019, 6, 6, 9, 0))
    (figures,) = list_jobs(session, default_rate=DEFAULT)
    # Back to "being corrected": usage without a correction time, no accuracy.
    assert (figures.correction_minutes, figures.correction_source, figures.accuracy) == (
        None,
        None,
        None,
    )
    assert not figures.measured
    assert _history(session, job_id) == [
        ("finish", "editor", 20.0, 2 / 8, "yamada"),
        ("reopen", None, None, None, "sato"),
    ]
    with pytest.raises(StateError, match="修正はまだ完了していません"):
        reopen_correction(session, job_id)
    again = _finish(session, job_id, "会議を始めます", 25)
    assert again.previous_minutes is None
    assert again.job.accuracy == Accuracy(7, 0, 0, 0)


def test_a_time_reported_again_without_a_text_keeps_the_accuracy(session: Session) -> None:
    job_id = _drafted(session, ["会議を始めます"])
    _finish(session, job_id, "会議を始めました", 20, "self-reported")
    result = _finish(session, job_id, None, 30, "self-reported")
    assert result.previous_minutes == 20
    assert not result.compared
    assert result.job.accuracy == Accuracy(8, 1, 0, 1)


def test_a_given_draft_text_is_compared_instead_of_the_stored_one(session: Session) -> None:
    job_id = _drafted(session, ["まったく別の文"])
    result = _finish(session, job_id, "会議を始めます", 5, draft_text="会議を始めます")
    assert result.job.accuracy == Accuracy(7, 0, 0, 0)


def test_an_imported_job_has_no_draft_to_compare(session: Session) -> None:
    job = AsrJob(source="import", title="", meeting_date=date(2019, 6, 3), audio_seconds=600)
    session.add(job)
    session.flush()
    result = _finish(session, job.id, "会議を始めます", 5, "self-reported")
    assert (result.compared, result.accuracy_note) == (False, NO_DRAFT_IMPORTED)
    assert result.job.accuracy is None and result.job.correction_minutes == 5


def test_a_web_job_drafted_before_the_draft_was_kept_uses_the_queue_text(
    session: Session,
) -> None:
    job = AsrJob(source="pilots", title="", meeting_date=date(2019, 6, 3), audio_seconds=600)
    session.add(job)
    session.flush()
    without = _finish(session, job.id, "会議を始めます", 5, "self-reported")
    assert (without.compared, without.accuracy_note) == (False, NO_DRAFT_STORED)
    web = WebJob(
        state="done",
        original_name="kaigi.flac",
        created_at=datetime(2019, 6, 3),
        asr_job_id=job.id,
    )
    session.add(web)
    session.flush()
    session.add(WebJobOutput(job_id=web.id, format="txt", data="会議を始め松す\n".encode()))
    session.flush()
    withtext = _finish(session, job.id, "会議を始めます", 5, "self-reported")
    assert withtext.job.accuracy == Accuracy(7, 1, 0, 0)

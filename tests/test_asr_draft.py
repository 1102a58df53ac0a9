"""The drafting pipeline with the real Whisper base model: drafts and their job, or neither."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from pilots import db
from pilots.asr.draft import DraftOptions, DraftPipeline, DraftWithdrawn, JobLog
from pilots.asr.result import MeetingInfo
from pilots.asr.transcribe import Transcriber
from pilots.tables import AsrJob

MEETING = MeetingInfo(title="定例会議", department="総務課")


@pytest.fixture(scope="module")
def pipeline(model_dir: Path) -> DraftPipeline:
    return DraftPipeline(
        DraftOptions(formats=("docx", "txt")), lambda: Transcriber("base", model_dir)
    )


def test_drafts_and_their_job(
    pipeline: DraftPipeline, sample_formats: dict[str, Path], engine: Engine, tmp_path: Path
) -> None:
    factory = db.session_factory(engine)
    draft = pipeline.draft_minutes(
        sample_formats["wav"],
        tmp_path / "out",
        MEETING,
        log=JobLog(session=lambda: db.session_scope(factory)),
    )
    assert [p.name for p in draft.files] == ["meeting.docx", "meeting.txt"]
    assert all(p.is_file() for p in draft.files)
    assert draft.job is not None and draft.job.department_created == "総務課"
    with db.session_scope(factory) as session:
        (job,) = session.scalars(select(AsrJob))
        assert job.id == draft.job.job_id and job.title == "定例会議"


def test_a_draft_whose_job_cannot_be_recorded_is_removed(
    pipeline: DraftPipeline, sample_formats: dict[str, Path], tmp_path: Path
) -> None:
    """A real failure of the database (no tables yet): no draft may escape the measurement."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    out = tmp_path / "out"
    with pytest.raises(OperationalError, match="no such table"):
        pipeline.draft_minutes(
            sample_formats["wav"],
            out,
            MEETING,
            log=JobLog(session=lambda: db.session_scope(db.session_factory(engine))),
        )
    engine.dispose()
    assert out.is_dir() and list(out.iterdir()) == []


def test_a_withdrawn_draft_records_no_job(
    pipeline: DraftPipeline, sample_formats: dict[str, Path], engine: Engine, tmp_path: Path
) -> None:
    """The web worker that lost its queue job to another worker records nothing."""
    factory = db.session_factory(engine)
    with pytest.raises(DraftWithdrawn):
        pipeline.draft_minutes(
            sample_formats["wav"],
            tmp_path / "out",
            MEETING,
            log=JobLog(session=lambda: db.session_scope(factory), held=lambda _session: False),
        )
    with db.session_scope(factory) as session:
        assert list(session.scalars(select(AsrJob))) == []

"""The demo: a fresh database built from data/demo/, one real transcription, and both reports.

``pilots demo`` shows the whole toolkit at work on a realistic year (令和元年度):
it loads every file of ``data/demo/`` the way each user would (organisation,
baselines, usage reports, survey export, task catalog, WinActor and UiPath
exports, the RPA team's issue register; the work survey ranked and its three
best tasks recorded as next year's), transcribes a sample meeting with the
real model so that one job comes from pilots itself, imports the FY2019 plan shipped with pilots
(``pilots/report/demo_plan.yaml``) and writes the interim and final effect reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pilots import db
from pilots.calendar import period
from pilots.calendar import today as calendar_today
from pilots.config import Settings
from pilots.errors import InputFileError
from pilots.files import make_folder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

DEMO_FISCAL_YEAR = 2019
SAMPLE_MEETING = "joho_rpa_weekly.flac"
SURVEY_NAME = "音声認識による議事録作成の満足度調査"
RPA_EXPORTS = ("wmc_tasks.csv", "uipath_jobs.csv")
RPA_REGISTER = "rpa_issues.csv"
RPA_SURVEY = "rpa_work_survey.csv"
RPA_TEAM = "IT・業務改革課 RPA推進担当"
CANDIDATES_CHOSEN_ON = date(2020, 2, 20)
"""The RPA team chose next year's tasks in February, after the work survey (the plan's schedule)."""
DEMO_PLAN = "demo_plan.yaml"
"""The demo year's plan, package data of :mod:`pilots.report`."""


def demo_plan_text() -> str:
    """The text of the FY2019 demo plan shipped with pilots."""
    from importlib.resources import files

    return files("pilots.report").joinpath(DEMO_PLAN).read_text(encoding="utf-8")


@dataclass
class DemoResult:
    """What the demo made: its database, the minutes draft and the reports (interim, final)."""

    database: Path
    minutes: list[Path] = field(default_factory=list)
    interim: list[Path] = field(default_factory=list)
    final: list[Path] = field(default_factory=list)


def _need(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise InputFileError(
            path, "デモデータがありません（python scripts/make_demo_data.py で作れます）"
        )
    return path


def run_demo(
    demo_dir: Path,
    samples_dir: Path,
    out_dir: Path,
    settings: Settings,
    *,
    transcribe: bool = True,
    step: Callable[[str], None] = lambda _message: None,
    today: date | None = None,
) -> DemoResult:
    """Build the demo database afresh and write the FY2019 interim and final reports.

    Args:
        demo_dir: ``data/demo`` (the generated data set).
        samples_dir: ``data/samples`` (the sample meeting recording and glossary).
        out_dir: where the database, the minutes draft and the reports go.
        settings: the settings (model folder, default rates and targets).
        transcribe: run the real speech model on the sample meeting.
        step: told, in Japanese, what the demo is doing.
        today: the report's date of writing.
    """
    from pilots.asr.baselines import import_baselines
    from pilots.asr.usage import import_usage
    from pilots.org import import_org
    from pilots.report.build import build_report
    from pilots.report.plan_store import import_plan_text, load_stored_plan
    from pilots.report.writers import FORMATS, write_report
    from pilots.rpa.catalog import import_catalog
    from pilots.rpa.register import import_register
    from pilots.survey.ingest import import_survey

    ratio = settings.get("asr.max_correction_ratio")
    make_folder(out_dir)
    database = out_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{database}")
    try:
        db.upgrade(engine)
        factory = db.session_factory(engine)
        loads: list[tuple[str, Callable[[Session], object]]] = [
            ("所属一覧", lambda s: import_org(s, _need(demo_dir, "departments.csv"))),
            ("従来作業時間", lambda s: import_baselines(s, _need(demo_dir, "asr_baselines.xlsx"))),
            (
                "利用報告（上期）",
                lambda s: import_usage(
                    s, _need(demo_dir, "asr_usage_2019_first_half.csv"), max_correction_ratio=ratio
                ),
            ),
            (
                "利用報告（下期）",
                lambda s: import_usage(
                    s,
                    _need(demo_dir, "asr_usage_2019_second_half.xlsx"),
                    max_correction_ratio=ratio,
                ),
            ),
            (
                "満足度調査",
                lambda s: import_survey(
                    s, _need(demo_dir, "survey_forms.xlsx"), survey=SURVEY_NAME
                ),
            ),
            ("RPA業務台帳", lambda s: import_catalog(s, _need(demo_dir, "rpa_catalog.xlsx"))),
            ("計画（令和元年度）", lambda s: import_plan_text(s, demo_plan_text(), DEMO_PLAN)),
        ]
        loads += [(f"RPA実行ログ {name}", _ingest(demo_dir, name)) for name in RPA_EXPORTS]
        loads += [
            (
                "RPA課題管理表",
                lambda s: import_register(s, _need(demo_dir, RPA_REGISTER), by=RPA_TEAM),
            ),
            ("RPA来年度の候補", lambda s: _choose_candidates(s, demo_dir, settings)),
        ]
        for label, load in loads:
            step(f"取り込み: {label}")
            with db.session_scope(factory) as session:
                load(session)
        result = DemoResult(database)
        if transcribe:
            step(f"音声認識: {SAMPLE_MEETING}（同梱モデル base）")
            result.minutes = _transcribe_sample(
                samples_dir, out_dir / "minutes", settings, factory, step
            )
        for kind in ("interim", "final"):
            step(f"レポート: {'中間' if kind == 'interim' else '最終'}")
            with db.session_scope(factory) as session:
                report = build_report(
                    session,
                    load_stored_plan(session, DEMO_FISCAL_YEAR),
                    period(DEMO_FISCAL_YEAR, kind),
                    default_baseline_rate=settings.get("default_baseline_rate"),
                    generated=today or calendar_today(),
                )
            written = write_report(
                report, out_dir, FORMATS, template_dir=settings.optional_path("template_dir")
            )
            if kind == "interim":
                result.interim = written
            else:
                result.final = written
        return result
    finally:
        engine.dispose()


def _choose_candidates(session: Session, demo_dir: Path, settings: Settings) -> object:
    """Rank the work survey and record its three best tasks as next year's (3所属3業務)."""
    from pilots.rpa.candidates import rank_candidates
    from pilots.rpa.selection import select_candidates

    ranked = rank_candidates(
        _need(demo_dir, RPA_SURVEY),
        rate=settings.get("rpa_target_rate"),
        session=session,
        keep=True,
    )
    return select_candidates(
        session,
        DEMO_FISCAL_YEAR,
        [c.task_id for c in ranked.candidates[:3]],
        chosen_on=CANDIDATES_CHOSEN_ON,
        chosen_by=RPA_TEAM,
    )


def _ingest(demo_dir: Path, name: str) -> Callable[[Session], object]:
    from pilots.rpa.ingest import ingest_file

    return lambda session: ingest_file(session, _need(demo_dir, name))


def _transcribe_sample(
    samples_dir: Path,
    minutes_dir: Path,
    settings: Settings,
    factory: sessionmaker[Session],
    step: Callable[[str], None],
) -> list[Path]:
    """Transcribe the sample meeting as the IT department's February meeting (one real job).

    The model runs as ``pilots asr transcribe`` runs it (``PILOTS_ASR_JOBS``): the
    sample is one chunk, so in this process. Its speakers are told apart (話者1 …)
    when the ``speakers`` extra is installed; ``step`` is told how to install it
    otherwise.
    """
    from contextlib import ExitStack

    from pilots.asr.draft import DraftOptions, DraftPipeline, JobLog, docx_marks, speech_model
    from pilots.asr.result import MeetingInfo

    audio = _need(samples_dir, SAMPLE_MEETING)
    meeting = MeetingInfo(
        title="RPA推進 定例会議",
        date=date(2020, 2, 14),
        place="第3会議室",
        department="IT・業務改革課",
    )
    log = JobLog(session=lambda: db.session_scope(factory), today=date(2020, 2, 14))
    with ExitStack() as models:
        pipeline = DraftPipeline(
            DraftOptions(
                formats=("docx", "txt"),
                glossary=_need(samples_dir, "glossary.tsv"),
                unsure_below=docx_marks(settings),
            ),
            lambda: models.enter_context(speech_model(settings, recordings=[audio])),
        )
        if pipeline.speaker_notice:
            step(pipeline.speaker_notice)
        return pipeline.draft_minutes(audio, minutes_dir, meeting, log=log).files

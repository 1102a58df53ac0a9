"""The web UI (``pilots serve``): the app factory and the route table.

The pages live in :mod:`pilots.web.pages` (one module per page), drawn by
:mod:`pilots.web.render` over the request context of
:mod:`pilots.web.context`; :mod:`pilots.web.middleware` wraps every answer.
Styles and the few lines of script are served by the app itself. While it
runs, the server deletes recordings past their retention, and may run one
transcription worker (:mod:`pilots.web.worker`) in a thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pilots import db
from pilots.web import auth, uploads
from pilots.web.context import State, WebConfig
from pilots.web.middleware import LimitAndHeaders
from pilots.web.pages import editor, minutes, report, rpa, rules, survey
from pilots.web.pages.auth import home, login, logout
from pilots.web.render import http_error, page_environment, server_error

logger = logging.getLogger("pilots")

HERE = Path(__file__).parent
PURGE_INTERVAL_SECONDS = 3600  # how often the server deletes recordings past their retention


ROUTES = [
    Route("/", home),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/minutes", minutes.minutes_page, methods=["GET"]),
    Route("/minutes", minutes.minutes_upload, methods=["POST"]),
    Route("/minutes/status", minutes.minutes_status),
    Route("/minutes/rules", rules.rules_page, methods=["GET"]),
    Route("/minutes/rules/{rule_id:int}", rules.rules_decide, methods=["POST"]),
    Route("/minutes/jobs/{job_id:int}/download/{fmt:str}", minutes.minutes_download),
    Route("/minutes/jobs/{job_id:int}/correction", minutes.minutes_correction, methods=["POST"]),
    Route(
        "/minutes/jobs/{job_id:int}/recording/delete",
        minutes.minutes_delete_recording,
        methods=["POST"],
    ),
    Route("/minutes/{job_id:int}/edit", editor.editor_page),
    Route("/minutes/{job_id:int}/edit/save", editor.editor_save, methods=["POST"]),
    Route("/minutes/{job_id:int}/edit/finish", editor.editor_finish, methods=["POST"]),
    Route("/minutes/{job_id:int}/edit/reopen", editor.editor_reopen, methods=["POST"]),
    Route("/minutes/{job_id:int}/edit/audio", editor.editor_audio),
    Route("/minutes/{job_id:int}/edit/download/{fmt:str}", editor.editor_download),
    Route("/rpa", rpa.rpa_page, methods=["GET"]),
    Route("/rpa/issues", rpa.rpa_issue, methods=["POST"]),
    Route("/rpa/issues/{number:int}", rpa.rpa_issue, methods=["POST"]),
    Route("/rpa/candidates", rpa.rpa_candidates, methods=["POST"]),
    Route("/rpa/{what:str}", rpa.rpa_upload, methods=["POST"]),
    Route("/survey", survey.survey_page, methods=["GET"]),
    Route("/survey", survey.survey_upload, methods=["POST"]),
    Route("/survey/delete", survey.survey_delete, methods=["POST"]),
    Route("/report", report.report_page),
    Route("/report/view", report.report_view),
    Route("/report/download", report.report_download),
    Route("/report/plan", report.report_plan_upload, methods=["POST"]),
    Route("/report/plan/download", report.report_plan_download),
    Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
]


SERVER_CONNECTIONS = 40
"""PostgreSQL connections the server keeps open: one per request it handles at once
(Starlette runs the handlers' database work on AnyIO's 40 worker threads)."""


def create_app(config: WebConfig) -> Starlette:
    """The web app over the database of ``config`` (its schema brought up to date)."""
    settings = config.settings
    engine = db.make_engine(
        config.db_url,
        busy_timeout=settings.get("sqlite_busy_timeout"),
        connections=SERVER_CONNECTIONS,
    )
    db.upgrade(engine)
    state = State(
        config=config,
        factory=db.session_factory(engine),
        store=auth.UserStore(config.users_file),
        signer=auth.SessionSigner(auth.secret_key(auth.session_key_file(settings))),
        login=auth.LoginPolicy.from_settings(settings),
        env=page_environment(settings),
        limit=uploads.limit_bytes(settings.get("upload_limit_mb")),
        engine=engine,
    )

    def purge_loop() -> None:
        # At start, then every hour: recordings are not kept past their retention.
        while True:
            try:
                purge_expired_recordings(state)
            except Exception:  # the database may be back at the next round
                logger.exception("録音の削除に失敗しました")
            if state.stop.wait(PURGE_INTERVAL_SECONDS):
                return

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        purger = threading.Thread(target=purge_loop, name="pilots-purge", daemon=True)
        purger.start()
        thread = None
        if config.start_worker:
            from pilots.web.worker import Worker

            worker = Worker(
                state.factory,
                settings,
                poll=config.worker_poll,
                stop=state.stop,
                log=lambda line: logger.info("%s", line),
                concurrency=config.worker_concurrency,
            )
            thread = threading.Thread(target=worker.run, name="pilots-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            state.stop.set()
            purger.join(timeout=5)
            if thread is not None:
                thread.join(timeout=5)
            engine.dispose()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.pilots = state
    app.add_middleware(LimitAndHeaders, limit=state.limit, env=state.env)
    return app


def purge_expired_recordings(state: State) -> None:
    """Delete the recordings past the ``recording_retention_days`` setting, and log each."""
    settings = state.config.settings
    days = settings.get("recording_retention_days")
    with state.session() as session:
        result = uploads.purge_recordings(session, settings.data_dir, older_than_days=days)
    for r in result.recordings:
        logger.info(
            "録音を削除しました（ジョブの完了から%g日を過ぎたため）: ジョブ #%d %s（%s）、%s MB",
            days,
            r.job_id,
            r.original_name,
            r.department or "所属なし",
            uploads.format_mb(r.size_bytes),
        )
    for name in result.orphans:
        logger.info("ジョブにならなかった録音を削除しました: %s", name)
    if result.work_folders:
        logger.info("作業プロセスの残した録音のコピー %d件を削除しました", result.work_folders)

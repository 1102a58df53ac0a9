"""Tables shared by every pilot: the declarative base and departments (所属)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Explicit constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every pilots table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Department(Base):
    """A department (所属) of the prefectural government.

    ``name_key`` is the name after Unicode NFKC and trimming; every import
    finds departments by it, so "ＲＰＡ推進課 " and "RPA推進課" are one department.
    ``code`` (所属コード) and ``parent_code`` (上位所属コード) come from the
    organisation file; departments created by another import have no code
    until the organisation file names them.
    """

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # How the department came to exist: "org" (organisation file) or the import that created it.
    created_by: Mapped[str] = mapped_column(String(40), default="org")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    parent: Mapped[Department | None] = relationship(remote_side=[id])


class AsrJob(Base):
    """One meeting recording turned into a minutes draft (SPEC §3 "job").

    ``source`` is ``pilots`` for a recording transcribed by this toolkit and
    ``import`` for one a department reported from another service. A
    transcribed recording is identified by the SHA-256 of its audio and its
    department, so running it again updates its job instead of counting the
    meeting twice, while the same recording sent by two departments is two jobs.

    ``correction_minutes`` is the time the clerk spent correcting the draft
    (修正時間); None until the correction is finished — such a job counts as
    usage, never as savings. ``correction_source`` says where the time comes
    from (SPEC §3): ``editor`` (measured by the correction editor) or
    ``self-reported`` (typed by the clerk, or reported in a usage file).
    ``finished_at`` / ``finished_by`` are when and by whom the correction was
    finished (naive local time); a reopened job has neither, nor a correction
    time or accuracy, until it is finished again (its earlier ones stay in
    :class:`AsrCorrection`).

    ``draft_json`` is the draft's segments as the JSON draft has them
    (:func:`pilots.asr.minutes.segments_as_data`: text, times, words with their
    probabilities where timed, flags), recorded with the job; None for a job
    imported from a usage report or transcribed before it was kept. The draft
    accuracy (SPEC §3) compares it with the corrected text when the correction
    is finished: ``corrected_characters`` and the edits by kind, and ``cer``
    (edits / characters; None for an empty corrected text). They are None
    while nothing was compared.

    ``no_speech`` marks a recording in which no speech was found (a silent file):
    its draft is empty and it does not count as usage (SPEC §3).
    """

    __tablename__ = "asr_jobs"
    __table_args__ = (
        UniqueConstraint(
            "audio_sha256", "department_id", name="uq_asr_jobs_audio_sha256_department_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="pilots")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    meeting_date: Mapped[date] = mapped_column(Date, index=True)
    audio_seconds: Mapped[float] = mapped_column(Float)
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None] = mapped_column(String(200))
    flag_count: Mapped[int | None] = mapped_column(Integer)
    outputs: Mapped[str] = mapped_column(Text, default="")
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    no_speech: Mapped[bool] = mapped_column(Boolean, default=False)
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    import_file: Mapped[str | None] = mapped_column(String(500))
    import_line: Mapped[int | None] = mapped_column(Integer)
    correction_minutes: Mapped[float | None] = mapped_column(Float)
    correction_source: Mapped[str | None] = mapped_column(String(16))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Deferred: a list of jobs must not load every draft (a 2-hour meeting's is ~1 MB).
    draft_json: Mapped[str | None] = mapped_column(Text, deferred=True)
    corrected_characters: Mapped[int | None] = mapped_column(Integer)
    edit_substitutions: Mapped[int | None] = mapped_column(Integer)
    edit_insertions: Mapped[int | None] = mapped_column(Integer)
    edit_deletions: Mapped[int | None] = mapped_column(Integer)
    cer: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    department: Mapped[Department | None] = relationship()


class AsrCorrection(Base):
    """One finishing or reopening of a job's correction (修正完了・再開), kept as history.

    ``action`` is ``finish`` or ``reopen``. A finish row holds what was
    recorded then: the correction time and its ``source`` (``editor`` /
    ``self-reported``), and the draft accuracy when a corrected text was
    compared (``corrected_file`` names the clerk's file it was read from, if
    any; the name only). A reopen row holds only when and by whom. The job
    row (:class:`AsrJob`) carries the current state; this table is what
    happened, so a reopened job's earlier accuracy is never lost. Times are
    naive local time, as :attr:`AsrJob.finished_at`.
    """

    __tablename__ = "asr_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("asr_jobs.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(8))
    done_at: Mapped[datetime] = mapped_column(DateTime)
    done_by: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str | None] = mapped_column(String(16))
    minutes: Mapped[float | None] = mapped_column(Float)
    corrected_characters: Mapped[int | None] = mapped_column(Integer)
    edit_substitutions: Mapped[int | None] = mapped_column(Integer)
    edit_insertions: Mapped[int | None] = mapped_column(Integer)
    edit_deletions: Mapped[int | None] = mapped_column(Integer)
    cer: Mapped[float | None] = mapped_column(Float)
    corrected_file: Mapped[str] = mapped_column(String(300), default="")
    # The corrected text compared (a finish with one): what rule mining learns from (issue 16).
    corrected_text: Mapped[str | None] = mapped_column(Text)
    # What rule mining found in this finish (JSON: the draft compared and its substitutions),
    # kept so that it is worked out once (pilots.asr.rules).
    mined: Mapped[str | None] = mapped_column(Text)


class AsrRule(Base):
    """A substitution a department's clerks made in its drafts (draft span → corrected span).

    Mined from finished jobs by :func:`pilots.asr.rules.mine_rules`: ``jobs``
    is the number of jobs in which the clerks made it, ``changed`` how often,
    ``unchanged`` how often the same draft span was left as it was, and
    ``contexts`` (JSON list) a few lines it was made in. ``status`` is
    ``proposed``, ``approved`` or ``rejected``; an approved rule is used in the
    department's next drafts. ``decided_by`` / ``decided_at``: the admin's decision.
    """

    __tablename__ = "asr_rules"
    __table_args__ = (
        UniqueConstraint(
            "department_id", "before", "after", name="uq_asr_rules_department_id_before_after"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    before: Mapped[str] = mapped_column(String(100))
    after: Mapped[str] = mapped_column(String(100))
    jobs: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    contexts: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)


class AsrBaseline(Base):
    """A department's baseline rate (従来作業時間): hours of minutes work per hour of audio.

    Measured in the pre-adoption survey and loaded by ``pilots asr baseline``;
    a department without a row here uses the ``default_baseline_rate`` setting
    (SPEC §3). ``source_file`` and ``source_line`` say where the figure came from.
    """

    __tablename__ = "asr_baselines"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), unique=True)
    hours_per_audio_hour: Mapped[float] = mapped_column(Float)
    source_file: Mapped[str] = mapped_column(String(500), default="")
    source_line: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    department: Mapped[Department] = relationship()


class AsrImportReject(Base):
    """A row of a usage report (``pilots asr import``) that could not be read.

    Kept so that the effect report's data-quality section can list it; importing
    the same file again replaces the rejects of that file.
    """

    __tablename__ = "asr_import_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_file: Mapped[str] = mapped_column(String(500), index=True)
    line: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The row's cells as the file had them (JSON list of text), for the person fixing it.
    raw: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class Survey(Base):
    """One satisfaction survey (満足度調査) as imported by ``pilots survey import``.

    ``question`` is the header of the column answered on the 5-point scale
    (SPEC §5); every import into the survey must use the same question.
    """

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    question: Mapped[str] = mapped_column(Text)
    department_column: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )


class StoredPlan(Base):
    """One version of a fiscal year's plan (計画), kept as the text it was imported from.

    The text is parsed when a report is made, so the plan's layout may grow
    without a change to this table. ``version`` counts 1, 2, 3 … within the
    fiscal year; the report uses the latest. ``file_name`` is the imported
    file's name only (never a local path). Times are naive UTC.
    """

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("fiscal_year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(300), default="")
    imported_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SurveyResponse(Base):
    """One respondent's row of a survey export.

    ``response_key`` identifies the row across re-imports: the form's response
    ID when the export has one, else a hash of the row's content and its
    occurrence among identical rows. ``status`` is ``valid`` (a scale answer,
    normalised into ``answer``), ``non_response`` (blank, 無回答, 未回答,
    該当なし) or ``unrecognised`` (anything else; kept in ``answer_raw``).
    ``completed_at`` is when the respondent sent the form (naive Japan time),
    None when the export has no completion-time column or the cell could not
    be read; it decides which responses an interim summary counts.
    Names and e-mail addresses in the export are not stored.
    """

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint(
            "survey_id", "response_key", name="uq_survey_responses_survey_id_response_key"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id"), index=True)
    response_key: Mapped[str] = mapped_column(String(64))
    respondent_id: Mapped[str | None] = mapped_column(String(200))
    import_file: Mapped[str] = mapped_column(String(500), default="")
    line: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    department_text: Mapped[str] = mapped_column(Text, default="")
    answer_raw: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    # JSON list of {"question": header, "text": the answer verbatim} (untrusted text).
    comments: Mapped[str] = mapped_column(Text, default="[]")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    survey: Mapped[Survey] = relationship()
    department: Mapped[Department | None] = relationship()


class RpaTask(Base):
    """An automated business task (業務) of the RPA task catalog (業務台帳, SPEC §4).

    The minutes are the catalog's per-case and per-run figures from the
    pre-adoption work survey; ``pilots rpa summary`` applies them to the runs
    matched to the task through its scenario names (:class:`RpaTaskScenario`).
    """

    __tablename__ = "rpa_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(100), unique=True)
    task_name: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    manual_minutes_per_case: Mapped[float] = mapped_column(Float)
    cases_per_run: Mapped[float] = mapped_column(Float)
    residual_minutes_per_run: Mapped[float] = mapped_column(Float)
    exception_minutes_per_failure: Mapped[float] = mapped_column(Float)
    source_file: Mapped[str] = mapped_column(String(500), default="")
    source_line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )

    department: Mapped[Department] = relationship()
    scenarios: Mapped[list[RpaTaskScenario]] = relationship(
        back_populates="task", cascade="all, delete-orphan"
    )


class RpaTaskScenario(Base):
    """One scenario / process / flow name that belongs to a task.

    ``scenario_key`` is the name after Unicode NFKC and trimming; runs are
    matched to tasks by it when the summary is computed, so a catalog imported
    after the logs (or corrected later) applies to every run already stored.
    """

    __tablename__ = "rpa_task_scenarios"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_pk: Mapped[int] = mapped_column(ForeignKey("rpa_tasks.id", ondelete="CASCADE"), index=True)
    scenario: Mapped[str] = mapped_column(String(300))
    scenario_key: Mapped[str] = mapped_column(String(300), unique=True)

    task: Mapped[RpaTask] = relationship(back_populates="scenarios")


class RpaImport(Base):
    """One bot run log file as ``pilots rpa ingest`` read it, and what it added."""

    __tablename__ = "rpa_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    runs_added: Mapped[int] = mapped_column(Integer, default=0)
    runs_updated: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class RpaRun(Base):
    """One bot run from a vendor's log (SPEC §4 "run").

    ``(format, run_key)`` identifies the run across re-imports: the export's own
    id (WinActor タスクID, UiPath Key, Power Automate flowsessionid) or, where a
    format has none, a hash of the run's content. ``status`` is the normalised
    ``success``/``failure``/``other``; ``status_raw`` is the value as exported.
    ``final`` is false for a state that can still change (waiting, running): a
    later export may then replace the run. Times are naive Japan time;
    ``run_day`` (YYYYMMDD) is the day of the start time, else the end time,
    else the creation time, and decides the fiscal period the run belongs to.
    ``cases`` is the log's item count, None when the log has none.
    ``scenario`` is the name as written, kept only where it differs from
    ``scenario_key`` (its NFKC form), which matches runs to tasks.
    ``robot`` is the terminal that ran it (WinActor名, HostMachineName, the
    flow's machine); ``error_code`` and ``message`` the error as exported
    (WinActor エラーコード / エラー, UiPath Info, Power Automate errorcode /
    errormessage); ``retries`` WinActor's リトライカウント. Each is None where
    the export has no such column, and '' where it has one left blank. Runs
    ingested before revision 0014 have no ``error_code`` or ``retries`` and their
    ``message`` joins code and message: ingesting their logs again fills them in.
    """

    __tablename__ = "rpa_runs"
    __table_args__ = (UniqueConstraint("format", "run_key", name="uq_rpa_runs_format_run_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("rpa_imports.id"))
    line: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    run_key: Mapped[str] = mapped_column(String(100))
    scenario: Mapped[str | None] = mapped_column(String(300))
    scenario_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(8))
    status_raw: Mapped[str] = mapped_column(String(64))
    final: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    run_day: Mapped[int | None] = mapped_column(Integer)
    cases: Mapped[int | None] = mapped_column(Integer)
    robot: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    retries: Mapped[int | None] = mapped_column(Integer)
    updated_import_id: Mapped[int | None] = mapped_column(Integer)


class RpaReject(Base):
    """A row of a bot run log that could not be read (impossible date, no scenario …).

    Listed by ``pilots rpa rejects`` and counted in the summary, never dropped:
    every rejected row is kept, identical ones included. ``row_hash`` (format,
    file name, line and the row's cells: :func:`pilots.rpa.normalise.reject_key`)
    keeps a re-imported file from adding the same reject twice.
    """

    __tablename__ = "rpa_rejects"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("rpa_imports.id"))
    file: Mapped[str] = mapped_column(String(500))
    line: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text, default="")
    row_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class RpaIssue(Base):
    """An entry of the RPA team's issue register (課題管理表, SPEC §4 operational issues).

    課題 (``title``, unique by its NFKC form ``title_key``), 原因 (``cause``),
    対応策 (``action``), 担当 (``owner``), 状態 (``state``: 未対応, 対応中 or
    解決) and its dates: found (``found_on``) and resolved (``resolved_on``, set
    exactly when the state is 解決). The entry explains the failed runs it is
    linked to: those of a catalog task (``task_id``) or of one scenario
    (``scenario_key``, ``scenario`` as written), with an error (``error``: the
    error code, or the message where the export has no code) and/or on a
    terminal (``terminal``); a link left empty matches every run.
    """

    __tablename__ = "rpa_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    title_key: Mapped[str] = mapped_column(String(300), unique=True)
    cause: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(8))
    found_on: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    task_id: Mapped[str | None] = mapped_column(String(100))
    scenario_key: Mapped[str | None] = mapped_column(String(300))
    scenario: Mapped[str | None] = mapped_column(String(300))
    error: Mapped[str | None] = mapped_column(Text)
    terminal: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, server_default=func.now(), onupdate=func.now()
    )


class RpaSurveyTask(Base):
    """A task of the latest work survey (業務量調査) that ``pilots rpa candidates FILE`` ranked.

    Kept so that next year's candidates can be chosen from it by id
    (:class:`RpaCandidateChoice`); ranking another survey replaces them all.
    ``task_ref`` is the survey's 業務ID, or its 業務名 (NFKC) where the survey
    has no id column. ``rank`` is None for a task the ranking excluded
    (``reasons``); ``expected_hours`` is the hours a bot is expected to remove.
    """

    __tablename__ = "rpa_survey_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_ref: Mapped[str] = mapped_column(String(300), unique=True)
    task_name: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    annual_hours: Mapped[float] = mapped_column(Float)
    expected_hours: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[str] = mapped_column(Text, default="")
    source_file: Mapped[str] = mapped_column(String(500), default="")
    line: Mapped[int] = mapped_column(Integer)

    department: Mapped[Department] = relationship()


class RpaCandidateChoice(Base):
    """A task chosen for RPA in the next fiscal year (追加適用候補となる業務の選定).

    ``fiscal_year`` is the year the choice belongs to (its report counts it);
    the task is for the year after. The task is a catalog task or a survey task
    (``source``: ``catalog`` or ``survey``), copied here with its department so
    that the record stays what was chosen. ``chosen_on`` is the day of the
    decision, ``chosen_by`` who made it, ``recorded_at`` when it was recorded
    (naive UTC). A new choice for the year replaces the year's rows.
    """

    __tablename__ = "rpa_candidate_choices"
    __table_args__ = (UniqueConstraint("fiscal_year", "task_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    position: Mapped[int] = mapped_column(Integer)
    task_ref: Mapped[str] = mapped_column(String(300))
    task_name: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    source: Mapped[str] = mapped_column(String(16))
    expected_hours: Mapped[float | None] = mapped_column(Float)
    chosen_on: Mapped[date] = mapped_column(Date)
    chosen_by: Mapped[str] = mapped_column(String(100), default="")
    recorded_at: Mapped[datetime] = mapped_column(DateTime)

    department: Mapped[Department] = relationship()


class WebUpload(Base):
    """A file uploaded through the web UI, stored under a generated name.

    ``stored_name`` is the only name the file system sees (``<uuid>.<ext>``
    under ``<data_dir>/uploads``); ``original_name`` is what the user's
    browser called it, kept for display only (untrusted text). ``kind`` is what
    its content was found to be (``audio``, ``csv``, ``xlsx``) and ``purpose``
    the form it came from (``minutes``, ``rpa_catalog``, ``rpa_runs``, ``survey``).
    """

    __tablename__ = "web_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class WebJob(Base):
    """A transcription job in the queue that ``pilots worker`` processes (文字起こし待ち行列).

    ``state`` is ``queued`` → ``running`` → ``done`` or ``failed``. A worker
    claims a queued job (``worker``, ``attempts`` + 1, ``heartbeat_at``) and
    reports every few seconds while it works; a running job whose heartbeat is
    older than the ``worker_stale_seconds`` setting goes back to ``queued``
    (or to ``failed`` after ``worker_max_attempts``). Only the worker holding
    the current attempt can finish the job, so a job is done once.

    The recording travels with the job, in :class:`WebJobAudio` chunks, so that
    a worker on another machine needs only the database; the drafts come back
    the same way, in :class:`WebJobOutput`. Times are naive UTC (the
    database's clock on PostgreSQL, so workers on several machines agree).

    ``speakers`` is the speaker labels the clerk asked for: ``auto``, ``off`` or a
    number of speakers (``pilots asr transcribe --speakers``).

    ``recording_deleted_at`` is when the recording was deleted — by the clerk or
    once the ``recording_retention_days`` setting had passed since
    ``finished_at``; the job and its measurement record stay.
    """

    __tablename__ = "web_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("web_uploads.id"))
    original_name: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    meeting_date: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(300), default="", server_default="")
    attendees: Mapped[str] = mapped_column(Text, default="", server_default="")
    glossary: Mapped[str | None] = mapped_column(Text)
    formats: Mapped[str] = mapped_column(String(100), default="docx,md,txt,srt")
    speakers: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    submitted_by: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    asr_job_id: Mapped[int | None] = mapped_column(ForeignKey("asr_jobs.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    recording_deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class WebJobAudio(Base):
    """One piece (up to 1 MiB) of a queued job's recording; deleted once the job is done."""

    __tablename__ = "web_job_audio"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("web_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class WebJobMaterial(Base):
    """A handout (会議資料) sent with a queued job; its terms join the job's glossary."""

    __tablename__ = "web_job_materials"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("web_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class WebJobOutput(Base):
    """One draft of a finished job (docx, md, txt, srt), served by the web UI."""

    __tablename__ = "web_job_outputs"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("web_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    format: Mapped[str] = mapped_column(String(8), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LoginFailure(Base):
    """A failed login to the web UI (ログイン失敗), kept to slow down and lock out guessing.

    Each row is one failure: the user name typed and the address it came from.
    A user name, and separately an address, with ``login_max_failures`` rows
    within ``login_lock_minutes`` is locked. Kept in the database, not in a
    process, so that every server process sharing it counts the same failures
    and a restart does not clear them. Times are naive UTC, as the queue's.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(100), index=True)
    failed_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class EditDocument(Base):
    """The correction editor's document of a job (修正中の議事録): its version and state.

    Created from the job's draft the first time the editor opens it. ``version``
    counts the saves: every save names the version it was made on and is refused
    when another tab (or another person) saved in between, so nothing is
    overwritten silently. ``state`` is ``editing`` or ``finished`` (修正完了: the
    text is frozen until the job is reopened). ``draft_text`` is the draft's text
    as the document started, which the draft accuracy compares against (SPEC §3).
    Times are naive UTC.
    """

    __tablename__ = "asr_edit_documents"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("asr_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="editing")
    draft_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class EditUtterance(Base):
    """One utterance of a job's editable document (発言): times, speaker label, text, marks.

    ``uid`` is the utterance's id within the job (``u12`` from the draft, or one
    the editor made for a split or an inserted utterance); ``position`` orders the
    utterances. ``speaker`` is a label (話者1), shown under the job's name for it
    (:class:`EditSpeaker`). ``flags`` is a JSON list of the draft's review reasons
    (要確認); ``words`` a JSON list of ``[first char, end char, start seconds,
    probability]`` of the words the model timed, which give the uncertain-word
    marks and the time of a split. A deleted utterance keeps its row (undo brings
    it back) with ``deleted`` set.
    """

    __tablename__ = "asr_edit_utterances"
    __table_args__ = (Index("ix_asr_edit_utterances_job_id_position", "job_id", "position"),)

    job_id: Mapped[int] = mapped_column(
        ForeignKey("asr_edit_documents.job_id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[str] = mapped_column(Text, default="[]")
    words: Mapped[str] = mapped_column(Text, default="[]")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class EditSpeaker(Base):
    """The name a clerk gave a speaker label of a job (話者1 → 議長)."""

    __tablename__ = "asr_edit_speakers"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("asr_edit_documents.job_id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class EditLogEntry(Base):
    """One save of the editor (or a finish / reopen): the version it made and its operations.

    ``ops`` is the JSON list of operations as the page sent them (see
    :mod:`pilots.asr.editing`); ``tab`` the id of the browser tab that saved.
    """

    __tablename__ = "asr_edit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("asr_edit_documents.job_id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    tab: Mapped[str] = mapped_column(String(40), default="")
    user_name: Mapped[str] = mapped_column(String(100), default="")
    ops: Mapped[str] = mapped_column(Text, default="[]")
    saved_at: Mapped[datetime] = mapped_column(DateTime)


class EditActivity(Base):
    """A stretch of active correction work in one tab of the editor (SPEC §3 correction time).

    Built on the server from the activity the page reports (typing, playing,
    navigating while the page is visible), by the rule of
    :mod:`pilots.asr.activity`: ``started_ms`` and ``ended_ms`` are the page's
    clock in milliseconds since 1970; ``open`` is true while a later report of the
    same tab may still extend it.
    """

    __tablename__ = "asr_edit_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("asr_edit_documents.job_id", ondelete="CASCADE"), index=True
    )
    tab: Mapped[str] = mapped_column(String(40))
    user_name: Mapped[str] = mapped_column(String(100), default="")
    started_ms: Mapped[int] = mapped_column(BigInteger)
    ended_ms: Mapped[int] = mapped_column(BigInteger)
    open: Mapped[bool] = mapped_column(Boolean, default=True)

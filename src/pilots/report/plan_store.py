"""The plans kept in the database: each fiscal year's plan, versioned, as the text it came as.

A plan is imported from its YAML file (``pilots plan import``, or the report
page's upload), checked, and stored as that text with the next version number
of its fiscal year; ``pilots plan export`` gives the text back unchanged. A
report without ``--plan`` uses the latest version of its fiscal year. The
text is parsed when it is used, so the plan's layout can grow without a
change to the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilots.calendar import format_fiscal_year
from pilots.errors import NotFoundError
from pilots.report.plan import Plan, parse_plan, read_plan_file
from pilots.tables import StoredPlan


@dataclass(frozen=True)
class PlanVersion:
    """One stored version of a plan (what ``pilots plan list`` shows).

    ``imported_at`` is naive UTC.
    """

    fiscal_year: int
    version: int
    title: str
    file_name: str
    imported_by: str
    imported_at: datetime


@dataclass(frozen=True)
class PlanImportResult:
    """What an import did: the plan's year and version, and whether it was new.

    ``added`` is False when the text is the same as the latest version of its
    year: nothing is stored and ``version`` is that latest version.
    """

    fiscal_year: int
    version: int
    title: str
    file_name: str
    added: bool


def _version(row: StoredPlan) -> PlanVersion:
    return PlanVersion(
        row.fiscal_year, row.version, row.title, row.file_name, row.imported_by, row.created_at
    )


def import_plan_text(
    session: Session, text: str, file_name: str, *, imported_by: str = ""
) -> PlanImportResult:
    """Check a plan's text and store it as the next version of its fiscal year.

    Raises:
        InputFileError: the plan is not valid (the message names the field and line).
    """
    name = PurePath(file_name.replace("\\", "/")).name or "plan.yaml"
    plan = parse_plan(text, name)
    latest = session.scalar(
        select(StoredPlan)
        .where(StoredPlan.fiscal_year == plan.fiscal_year)
        .order_by(StoredPlan.version.desc())
        .limit(1)
    )
    if latest is not None and latest.text == text:
        return PlanImportResult(plan.fiscal_year, latest.version, plan.title, name, False)
    version = (latest.version if latest is not None else 0) + 1
    session.add(
        StoredPlan(
            fiscal_year=plan.fiscal_year,
            version=version,
            title=plan.title[:300],
            text=text,
            file_name=name[:300],
            imported_by=imported_by[:100],
            created_at=datetime.now(UTC).replace(tzinfo=None),
        )
    )
    session.flush()
    return PlanImportResult(plan.fiscal_year, version, plan.title, name, True)


def import_plan(session: Session, path: str | Path, *, imported_by: str = "") -> PlanImportResult:
    """Import a plan file (YAML, UTF-8); see :func:`import_plan_text`.

    Raises:
        InputFileError: the file is missing, not UTF-8, or not a valid plan.
    """
    return import_plan_text(session, read_plan_file(path), str(path), imported_by=imported_by)


def plan_versions(session: Session, fiscal_year: int | None = None) -> list[PlanVersion]:
    """The stored plans (of one fiscal year, or all), newest year and version first."""
    query = select(StoredPlan).order_by(StoredPlan.fiscal_year.desc(), StoredPlan.version.desc())
    if fiscal_year is not None:
        query = query.where(StoredPlan.fiscal_year == fiscal_year)
    return [_version(row) for row in session.scalars(query)]


def latest_plan_year(session: Session) -> int | None:
    """The latest fiscal year that has a plan, None when there is none."""
    year: int | None = session.scalar(select(func.max(StoredPlan.fiscal_year)))
    return year


def stored_plan(
    session: Session, fiscal_year: int | None, version: int | None = None
) -> tuple[PlanVersion, str]:
    """A stored plan's version and its text.

    Args:
        session: the database.
        fiscal_year: the plan's year; None means the latest year with a plan.
        version: the version; None means the latest of the year.

    Raises:
        NotFoundError: no plan at all, none of the fiscal year, or no such version.
    """
    if fiscal_year is None:
        fiscal_year = latest_plan_year(session)
        if fiscal_year is None:
            raise NotFoundError(
                "計画はまだ取り込まれていません。計画ファイル（YAML）を取り込んでください"
                "（pilots plan import 計画.yaml、またはレポート画面の「計画ファイルを取り込む」）"
            )
    query = select(StoredPlan).where(StoredPlan.fiscal_year == fiscal_year)
    if version is not None:
        query = query.where(StoredPlan.version == version)
    row = session.scalar(query.order_by(StoredPlan.version.desc()).limit(1))
    if row is None:
        year = format_fiscal_year(fiscal_year)
        if version is not None and plan_versions(session, fiscal_year):
            raise NotFoundError(f"{year}の計画に第{version}版はありません")
        raise NotFoundError(
            f"{year}の計画が登録されていません。計画ファイル（YAML）を取り込んでください"
            "（pilots plan import 計画.yaml、またはレポート画面の「計画ファイルを取り込む」）"
        )
    return _version(row), row.text


def load_stored_plan(session: Session, fiscal_year: int, version: int | None = None) -> Plan:
    """The plan of a fiscal year from the database (the latest version unless one is named).

    Raises:
        NotFoundError: no such plan (see :func:`stored_plan`).
    """
    found, text = stored_plan(session, fiscal_year, version)
    return parse_plan(text, f"計画（{format_fiscal_year(fiscal_year)} 第{found.version}版）")

"""RPA rejects: one per file and line, so identical bad rows are each kept (SPEC §4).

A reject used to be keyed by its format and cells alone, so identical bad rows
(in one file or in two) were stored once. The key now adds the file's name and
the line; existing rejects get their new key, so a file ingested before still
adds nothing when ingested again (and adds the rows that were folded away).

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_rejects = sa.table(
    "rpa_rejects",
    sa.column("id", sa.Integer()),
    sa.column("file", sa.String()),
    sa.column("line", sa.Integer()),
    sa.column("format", sa.String()),
    sa.column("raw", sa.Text()),
    sa.column("row_hash", sa.String()),
)


def _key(format_name: str, file_name: str, line: int, raw: str) -> str:
    # pilots.rpa.ingest.reject_key as of this revision (copied: a migration must
    # not change meaning when the code does).
    joined = "\x1f".join((format_name, file_name, str(line), raw))
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def _old_key(format_name: str, raw: str) -> str:
    joined = f"{format_name}\x1f{raw}"
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def _file_name(path: str) -> str:
    # The stored path may come from Windows: the name is after the last / or \.
    return re.split(r"[\\/]", path)[-1]


def _stored() -> list[tuple[int, str, int, str, str]]:
    columns = (_rejects.c.id, _rejects.c.file, _rejects.c.line, _rejects.c.format, _rejects.c.raw)
    rows = op.get_bind().execute(sa.select(*columns).order_by(_rejects.c.id))
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _set_hashes(hashes: dict[int, str]) -> None:
    if hashes:
        op.get_bind().execute(
            _rejects.update()
            .where(_rejects.c.id == sa.bindparam("reject_id"))
            .values(row_hash=sa.bindparam("new_hash")),
            [{"reject_id": i, "new_hash": h} for i, h in hashes.items()],
        )


def upgrade() -> None:
    _set_hashes(
        {i: _key(fmt, _file_name(file), line, raw) for i, file, line, fmt, raw in _stored()}
    )


def downgrade() -> None:
    # One reject per content again: identical rows after the first are removed.
    hashes: dict[int, str] = {}
    seen: set[str] = set()
    extra = []
    for i, _file, _line, fmt, raw in _stored():
        old = _old_key(fmt, raw)
        if old in seen:
            extra.append(i)
        else:
            seen.add(old)
            hashes[i] = old
    if extra:
        op.get_bind().execute(_rejects.delete().where(_rejects.c.id.in_(extra)))
    _set_hashes(hashes)

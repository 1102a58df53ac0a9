"""Departments (所属): the organisation file, and finding departments by name.

Every other import names departments by their name; :func:`resolve_department`
matches it after Unicode NFKC and trimming and creates a department it does
not know, reporting that it did so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pilots.errors import InputFileError
from pilots.tables import Department
from pilots.tabular import Column, read_table
from pilots.text import normalize_name

UNKNOWN_DEPARTMENT = "所属不明"
"""How a job or an answer without a department is shown (it counts in no department)."""

ORG_COLUMNS = (
    Column("code", ("所属コード", "コード")),
    Column("name", ("所属名", "所属")),
    Column("parent_code", ("上位所属コード", "親所属コード"), required=False),
)


@dataclass
class OrgImportResult:
    """What ``pilots org import`` did."""

    file: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    encoding: str | None = None


@dataclass
class DepartmentResolver:
    """Finds departments by name for one import, creating unknown ones.

    Attributes:
        created: names of the departments this resolver created, in order.
    """

    session: Session
    created_by: str
    created: list[str] = field(default_factory=list)
    _cache: dict[str, Department] = field(default_factory=dict)

    def __call__(self, name: str) -> Department:
        """Return the department called ``name`` (NFKC, trimmed), creating it if unknown.

        Raises:
            ValueError: the name is empty after trimming.
        """
        return self._departments([name])[name]

    def resolve_all(self, names: list[str]) -> dict[str, int]:
        """The department id of each name, in one query and one insert for the whole list.

        An import of thousands of rows naming a few hundred departments then
        costs a few round trips, not hundreds.

        Raises:
            ValueError: a name is empty after trimming.
        """
        return {name: department.id for name, department in self._departments(names).items()}

    def _departments(self, names: list[str]) -> dict[str, Department]:
        keys: dict[str, str] = {}
        for name in names:
            if name not in keys:
                key = keys[name] = normalize_name(name)
                if not key:
                    raise ValueError("所属名が空です")
        wanted = sorted({k for k in keys.values() if k not in self._cache})
        if wanted:
            self._load(wanted)
            missing: dict[str, str] = {}
            for name, key in keys.items():
                if key not in self._cache:
                    missing.setdefault(key, name.strip())
            if missing:
                self._insert(missing)
                self._load(sorted(missing))
        return {name: self._cache[key] for name, key in keys.items()}

    def _load(self, keys: list[str]) -> None:
        for found in self.session.scalars(select(Department).where(Department.name_key.in_(keys))):
            self._cache[found.name_key] = found

    def _insert(self, missing: dict[str, str]) -> None:
        """Insert departments by key and name; one another import just created is left as is.

        Two imports running at once on PostgreSQL may both meet a new
        department: ``ON CONFLICT DO NOTHING`` lets the second wait for the
        first and then use its row instead of failing on the unique name.
        """
        from sqlalchemy.dialects import postgresql, sqlite

        rows = [
            {"name": name, "name_key": key, "created_by": self.created_by}
            for key, name in missing.items()
        ]
        if self.session.get_bind().dialect.name == "postgresql":
            statement: Any = postgresql.insert(Department).values(rows)
        else:
            statement = sqlite.insert(Department).values(rows)
        statement = statement.on_conflict_do_nothing(index_elements=["name_key"]).returning(
            Department.name_key
        )
        inserted = set(self.session.execute(statement).scalars())
        self.created.extend(name for key, name in missing.items() if key in inserted)


def import_org(session: Session, path: str | Path) -> OrgImportResult:
    """Load an organisation file (所属コード, 所属名, 上位所属コード) into the departments.

    A department is matched by code, else by its name (NFKC, trimmed) — so one
    created earlier by a usage import receives its code. The whole file is one
    transaction: any bad row refuses the file and names the row.

    Raises:
        InputFileError: missing columns, an empty code or name, a code listed
            twice, or a parent code that is neither in the file nor in the database.
    """
    table = read_table(path, header_hint=ORG_COLUMNS)
    result = OrgImportResult(file=str(path), encoding=table.encoding)
    rows: list[tuple[int, str, str, str]] = []
    seen_codes: dict[str, int] = {}
    seen_names: dict[str, int] = {}
    for row in table.mapped(ORG_COLUMNS):
        code, name, parent = row.text("code"), row.text("name"), row.text("parent_code")
        if not code:
            raise InputFileError(path, "所属コードが空です", line=row.line, column="所属コード")
        if not name:
            raise InputFileError(path, "所属名が空です", line=row.line, column="所属名")
        for key, seen, label in (
            (code, seen_codes, "所属コード"),
            (normalize_name(name), seen_names, "所属名"),
        ):
            if key in seen:
                raise InputFileError(
                    path, f"{label} {key} が{seen[key]}行目と重複しています", line=row.line
                )
            seen[key] = row.line
        rows.append((row.line, code, name, parent))

    # Bulk statements on plain rows: the ORM unit of work on a self-referencing
    # table took seconds for a 20,000-row file (bench/bench_org.py).
    existing = session.execute(
        select(
            Department.id,
            Department.code,
            Department.name_key,
            Department.name,
            Department.parent_id,
        )
    ).all()
    known_codes = {r.code: r for r in existing if r.code is not None}
    known_keys = {r.name_key: r for r in existing}
    state: dict[str, str] = {}
    changes: dict[int, dict[str, object]] = {}
    inserts: list[dict[str, object]] = []
    for _line, code, name, _parent in rows:
        key = normalize_name(name)
        found = known_codes.get(code) or known_keys.get(key)
        if found is None:
            inserts.append({"code": code, "name": name, "name_key": key, "created_by": "org"})
            state[code] = "added"
        elif (found.code, found.name) != (code, name):
            changes[found.id] = {"id": found.id, "code": code, "name": name, "name_key": key}
            state[code] = "updated"
        else:
            state[code] = "unchanged"
    if changes:
        session.execute(update(Department), list(changes.values()))
    if inserts:
        session.execute(insert(Department), inserts)
    ids: dict[str, int] = {
        code: dept_id
        for code, dept_id in session.execute(
            select(Department.code, Department.id).where(Department.code.is_not(None))
        )
        if code is not None
    }
    parents_now = {r.id: r.parent_id for r in existing}
    parent_changes: list[dict[str, Any]] = []
    for line, code, _name, parent in rows:
        dept_id = ids[code]
        parent_id = None
        if parent:
            parent_id = ids.get(parent)
            if parent_id is None:
                raise InputFileError(
                    path,
                    f"上位所属コード {parent} の所属がありません",
                    line=line,
                    column="上位所属コード",
                )
            if parent_id == dept_id:
                raise InputFileError(path, "上位所属が自分自身です", line=line)
        if parents_now.get(dept_id) != parent_id:
            parent_changes.append({"id": dept_id, "parent_id": parent_id})
            if state[code] == "unchanged":
                state[code] = "updated"
    for change in parent_changes:
        parents_now[int(change["id"])] = change["parent_id"]
    _refuse_cycles(path, parents_now, {ids[code]: line for line, code, _n, _p in rows})
    if parent_changes:
        session.execute(update(Department), parent_changes)
    session.expire_all()
    result.rows = len(rows)
    result.added = sum(1 for s in state.values() if s == "added")
    result.updated = sum(1 for s in state.values() if s == "updated")
    result.unchanged = sum(1 for s in state.values() if s == "unchanged")
    return result


def _refuse_cycles(path: str | Path, parents: dict[int, int | None], lines: dict[int, int]) -> None:
    """Refuse a hierarchy in which a department is (indirectly) its own parent."""
    for start in lines:
        seen = {start}
        current = parents.get(start)
        while current is not None:
            if current in seen:
                raise InputFileError(path, "上位所属が循環しています", line=lines[start])
            seen.add(current)
            current = parents.get(current)


@dataclass(frozen=True)
class DepartmentRow:
    """One department as ``pilots org list`` shows it."""

    code: str | None
    name: str
    parent_code: str | None
    created_by: str


def list_departments(session: Session) -> list[DepartmentRow]:
    """All departments, ordered by code (departments without a code last, by name)."""
    depts = session.scalars(select(Department)).all()
    rows = [
        DepartmentRow(d.code, d.name, d.parent.code if d.parent else None, d.created_by)
        for d in depts
    ]
    return sorted(rows, key=lambda r: (r.code is None, r.code or "", r.name))

"""Tables shared by every pilot: the declarative base and departments (所属)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, MetaData, String, func
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

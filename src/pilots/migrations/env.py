"""Alembic environment: runs on the connection pilots.db.upgrade hands over."""

from __future__ import annotations

from alembic import context

from pilots.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - pilots always passes its connection
    raise RuntimeError("pilots migrations run through pilots.db.upgrade(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    # SQLite's DDL is transactional too: one failed migration leaves nothing behind.
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()

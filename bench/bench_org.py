"""Organisation import: `pilots org import` of 20,000 departments vs plain sqlite3 inserts.

The baseline writes the same rows with sqlite3's executemany and no checks;
the ratio shows what validation, name matching and the ORM cost.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from bench.common import Comparison, best_of
from pilots import db
from pilots.org import import_org

ROWS = 20_000


def run() -> list[Comparison]:
    """Run the benchmark and return its comparison."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "org.csv"
        lines = ["所属コード,所属名,上位所属コード"]
        lines += [
            f"{i:06d},所属{i},{'' if i % 100 == 0 else f'{i - i % 100:06d}'}" for i in range(ROWS)
        ]
        csv.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))
        counter = iter(range(1000))

        def with_pilots() -> None:
            engine = db.make_engine(f"sqlite:///{folder / f'p{next(counter)}.db'}")
            db.upgrade(engine)
            with db.session_scope(db.session_factory(engine)) as session:
                import_org(session, csv)
            engine.dispose()

        def baseline() -> None:
            conn = sqlite3.connect(folder / f"b{next(counter)}.db")
            conn.execute("CREATE TABLE d (code TEXT UNIQUE, name TEXT, parent TEXT)")
            with conn:
                rows = (
                    line.split(",") for line in csv.read_text(encoding="cp932").splitlines()[1:]
                )
                conn.executemany("INSERT INTO d VALUES (?, ?, ?)", rows)
            conn.close()

        return [
            Comparison(
                f"org import ({ROWS:,} departments, CP932 CSV)",
                best_of(3, with_pilots),
                "sqlite3 executemany",
                best_of(3, baseline),
            )
        ]

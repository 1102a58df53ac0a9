"""ASR usage import: `pilots asr import` of 20,000 meetings vs plain csv + sqlite3 inserts.

The file is a CP932 usage report (所属, 会議日, 録音時間(分), 修正時間(分), 会議名)
of 200 departments, some rows without a correction time. pilots reads it,
checks every row, creates the departments, keys each meeting and stores the
jobs; the baseline parses the same file with :mod:`csv` and writes the same
rows with sqlite3's executemany and no checks. Both are measured in this run.
"""

from __future__ import annotations

import csv
import io
import random
import sqlite3
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.common import Comparison, best_of
from pilots import db
from pilots.asr.usage import import_usage
from pilots.config import Settings

ROWS = 20_000
RATIO = float(Settings().get("asr.max_correction_ratio"))


def usage_csv(path: Path, rows: int = ROWS, seed: int = 2019) -> None:
    """Write a usage report of ``rows`` meetings (CP932, CRLF)."""
    rng = random.Random(seed)
    first = date(2019, 4, 1)
    lines = ["所属,会議日,録音時間(分),修正時間(分),会議名"]
    for n in range(rows):
        day = first + timedelta(days=rng.randrange(366))
        correction = "" if n % 7 == 0 else str(rng.randrange(20, 300))
        lines.append(
            f"課{rng.randrange(200):03d},{day.isoformat()},{rng.choice((30, 45, 60, 90, 120))},"
            f"{correction},定例会議{n}"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))


def run() -> list[Comparison]:
    """Run the benchmark and return its comparison."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        usage = folder / "usage.csv"
        usage_csv(usage)
        counter = iter(range(1000))

        def with_pilots() -> None:
            engine = db.make_engine(f"sqlite:///{folder / f'p{next(counter)}.db'}")
            db.upgrade(engine)
            with db.session_scope(db.session_factory(engine)) as session:
                result = import_usage(session, usage, max_correction_ratio=RATIO)
            assert result.added == ROWS, result
            engine.dispose()

        def baseline() -> None:
            conn = sqlite3.connect(folder / f"b{next(counter)}.db")
            conn.execute(
                "CREATE TABLE jobs (department TEXT, meeting_date TEXT, audio_minutes REAL,"
                " correction_minutes REAL, title TEXT)"
            )
            with conn:
                text = usage.read_bytes().decode("cp932")
                rows = csv.reader(io.StringIO(text, newline=""))
                next(rows)
                conn.executemany("INSERT INTO jobs VALUES (?, ?, ?, ?, ?)", rows)
            conn.close()

        comparison = Comparison(
            f"asr usage import ({ROWS:,} meetings, CP932 CSV)",
            best_of(3, with_pilots),
            "csv + sqlite3 executemany",
            best_of(3, baseline),
        )
        print(
            f"pilots {ROWS / comparison.pilots_seconds:,.0f} rows/s, "
            f"baseline {ROWS / comparison.baseline_seconds:,.0f} rows/s, "
            f"ratio {comparison.ratio:.1f}",
            flush=True,
        )
        return [comparison]

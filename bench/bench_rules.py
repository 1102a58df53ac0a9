"""Learned rules: `pilots asr rules list` over a department's long finished meetings.

The rules page and ``pilots asr rules list`` mine the finished jobs at every
view. A department with ``JOBS`` finished two-hour meetings (about 30,000
characters of draft each, built from the sample meetings' reference texts with
3% of the characters misheard as random kanji and a few terms always misheard
the same way) is listed twice: the first listing aligns every job's draft with its corrected
text and keeps what it found (the baseline: every listing aligned every job
before, and also counted each substitution's draft span once per pair, so the
old cost was somewhat higher still), the second reuses what the first kept. Both are whole
``pilots`` processes on one SQLite file; both must print the same rules.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import Comparison

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = sorted((ROOT / "data" / "samples").glob("*.txt"))
JOBS = 12
CHARACTERS = 30_000
# A term the model always mishears the same way: what the rules learn.
HABITS = {"会計": "開計", "決裁": "決済", "入札": "入冊", "保健": "保険"}
NOISE = 0.03


def _meeting(seed: int) -> tuple[list[str], list[str]]:
    """The corrected lines of one long meeting and its draft's lines."""
    lines = [
        line.strip()
        for path in REFERENCES
        if not path.name.endswith((".agenda.txt", ".verbatim.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    chance = random.Random(seed)
    corrected: list[str] = []
    while sum(map(len, corrected)) < CHARACTERS:
        corrected.append(chance.choice(lines))
    draft = []
    for line in corrected:
        for right, wrong in HABITS.items():
            line = line.replace(right, wrong)
        chars = [
            chr(chance.randint(0x4E00, 0x9FA5)) if chance.random() < NOISE else c for c in line
        ]
        draft.append("".join(chars))
    return corrected, draft


def _build(db_url: str) -> None:
    from pilots import db
    from pilots.asr.corrections import finish_correction
    from pilots.asr.jobs import record_transcription
    from pilots.asr.result import MeetingInfo, Transcript, Utterance

    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with db.session_scope(db.session_factory(engine)) as session:
        for n in range(JOBS):
            corrected, draft = _meeting(n)
            transcript = Transcript(
                audio=Path(f"meeting{n}.wav"),
                audio_sha256=f"{n:064d}",
                duration=7200.0,
                language="ja",
                model="base",
                meeting=MeetingInfo(
                    title="定例会", date=date(2026, 6, n + 1), department="情報政策課"
                ),
                utterances=[
                    Utterance(start=7.0 * i, end=7.0 * i + 6, text=t, raw_text=t)
                    for i, t in enumerate(draft)
                ],
            )
            job = record_transcription(session, transcript, [], today=date(2026, 6, n + 1))
            finish_correction(
                session,
                job.job_id,
                corrected_text="".join(f"{line}\n" for line in corrected),
                minutes=120,
                source="editor",
                max_ratio=10,
                default_rate=4,
            )
    engine.dispose()


def _listing(db_url: str) -> tuple[float, str]:
    # The default settings, whatever this shell's PILOTS_* say.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOTS_")}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pilots", "--db", db_url, "asr", "rules", "list"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return time.perf_counter() - start, done.stdout


def run() -> list[Comparison]:
    """Build the department's finished meetings, list its rules twice."""
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'rules.db'}"
        _build(db_url)
        first_s, first = _listing(db_url)
        again_s, again = _listing(db_url)
    # The same rules; only the count of new proposals (the last line) differs.
    if first.splitlines()[:-1] != again.splitlines()[:-1]:
        raise RuntimeError(f"the two listings differ:\n{first}\n---\n{again}")
    print(first.strip(), flush=True)
    return [
        Comparison(
            f"pilots asr rules list, {JOBS} finished meetings of {CHARACTERS:,} characters",
            again_s,
            "the first listing (aligns every job and keeps what it found)",
            first_s,
        )
    ]

"""Effect report: a full year (20,000 jobs, 200,000 runs, 500 answers) in three formats.

pilots: computing every figure and writing HTML, Excel and Markdown
(`build_report` + `write_report`). Baseline, in the same run: computing the
three summaries alone, so the ratio shows what assembling and rendering the
report adds. The target on these 2-core machines is ≤ 5 s for the report.
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.common import Comparison, best_of
from pilots import db
from pilots.calendar import period
from pilots.report.writers import FORMATS

DEPARTMENTS, JOBS, RUNS, ANSWERS, TASKS = 116, 20_000, 200_000, 500, 20


def _write_inputs(folder: Path) -> dict[str, Path]:
    rng = random.Random(7)
    names = [f"第{i:03d}課" for i in range(DEPARTMENTS)]
    files = {k: folder / f"{k}.csv" for k in ("org", "usage", "survey", "catalog", "runs")}
    files["org"].write_text(
        "所属コード,所属名\n" + "".join(f"{i:04d},{n}\n" for i, n in enumerate(names)),
        encoding="utf-8",
    )
    start = date(2019, 4, 1)
    usage = ["所属,会議日,録音時間(分),修正時間(分)"]
    for _ in range(JOBS):
        day = start + timedelta(days=rng.randrange(366))
        correction = "" if rng.random() < 0.1 else str(rng.randrange(20, 200))
        usage.append(f"{rng.choice(names)},{day:%Y/%m/%d},{rng.choice([30, 60, 90])},{correction}")
    files["usage"].write_text("\n".join(usage) + "\n", encoding="utf-8")
    scale = ["大変満足", "満足", "どちらともいえない", "不満", "大変不満", ""]
    survey = ["所属,満足度,ご意見"] + [
        f"{rng.choice(names)},{rng.choice(scale)},意見{i}" for i in range(ANSWERS)
    ]
    files["survey"].write_text("\n".join(survey) + "\n", encoding="utf-8")
    files["catalog"].write_text(
        "業務ID,業務名,所属,シナリオ名,手作業時間(分/件),件数(件/回),残作業時間(分/回),例外対応時間(分/回)\n"
        + "".join(f"T{t:02d},業務{t},{names[t]},scenario{t},5,20,10,30\n" for t in range(TASKS)),
        encoding="utf-8",
    )
    lines = ["scenario,started_at,ended_at,status,cases"]
    moment = datetime(2019, 7, 1, 8)
    for i in range(RUNS):
        moment += timedelta(seconds=120)
        status = "failure" if i % 37 == 0 else "success"
        lines.append(
            f"scenario{i % (TASKS + 1)},{moment:%Y-%m-%d %H:%M:%S},"
            f"{moment:%Y-%m-%d %H:%M:%S},{status},"
        )
    files["runs"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def run() -> list[Comparison]:
    """Load a generated full year, then time the report against the summaries alone."""
    from pilots.asr.measure import summarize as summarize_asr
    from pilots.asr.usage import import_usage
    from pilots.demo import demo_plan_text
    from pilots.org import import_org
    from pilots.report.build import build_report
    from pilots.report.plan import parse_plan
    from pilots.report.writers import write_report
    from pilots.rpa.catalog import import_catalog
    from pilots.rpa.ingest import ingest_file
    from pilots.rpa.measure import summarize as summarize_rpa
    from pilots.survey.ingest import import_survey
    from pilots.survey.measure import summarize_survey

    plan = parse_plan(demo_plan_text(), "demo_plan.yaml")
    final = period(2019, "final")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = _write_inputs(folder)
        engine = db.make_engine(f"sqlite:///{folder / 'year.db'}")
        db.upgrade(engine)
        factory = db.session_factory(engine)
        loaded = time.perf_counter()
        with db.session_scope(factory) as s:
            import_org(s, files["org"])
        with db.session_scope(factory) as s:
            import_usage(s, files["usage"], max_correction_ratio=10)
        with db.session_scope(factory) as s:
            import_survey(s, files["survey"], survey="bench")
        with db.session_scope(factory) as s:
            import_catalog(s, files["catalog"])
        with db.session_scope(factory) as s:
            ingest_file(s, files["runs"])
        print(
            f"loading the year: {time.perf_counter() - loaded:.1f} s (not part of the comparison)"
        )

        def summaries() -> None:
            with db.session_scope(factory) as s:
                summarize_asr(s, final, default_rate=4.0)
                summarize_survey(s, "bench", target=0.7)
                summarize_rpa(s, final, target_rate=0.8)

        def report() -> None:
            with db.session_scope(factory) as s:
                built = build_report(
                    s,
                    plan,
                    final,
                    default_baseline_rate=4.0,
                    generated=date(2020, 4, 1),
                )
            write_report(built, folder / "out", FORMATS)

        result = Comparison(
            f"report, 3 formats ({JOBS:,} jobs, {RUNS:,} runs, {ANSWERS} answers)",
            best_of(3, report),
            "the three summaries alone",
            best_of(3, summaries),
            note="target ≤ 5 s",
        )
        engine.dispose()
    return [result]

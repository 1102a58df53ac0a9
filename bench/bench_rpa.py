"""RPA: ingest and summarize a 1,000,000-row WinActor Manager export against pandas.read_csv.

The file is the task export exactly as WinActor Manager on Cloud writes it
(31-column Japanese header, MS932, CRLF), generated here with a fixed seed:
40 scenarios of 20 catalog tasks plus unmatched ones, mostly FINISH with
ERROR, HALT, CANCEL and WAITING rows and quoted multi-line error messages,
over fiscal year 2019. Three measurements, in this run on this machine:

1. ``pilots rpa ingest`` then ``pilots rpa summary --fy 2019 --period final``
   on a new SQLite database, each a fresh process: wall time, rows per
   second, and the peak memory (max RSS) of each process;
2. ``pandas.read_csv(path, encoding="cp932")`` of the same file in a fresh
   process (the time of the call itself, and its peak memory);
3. the target on a 2-core machine: ≤ 15 s in all and ≤ 1.5 GB;
4. ``pilots rpa issues --fy 2019 --period final`` on the same database (the
   failures grouped by scenario, error and terminal, the terminals tested)
   against the summary's time: target ≤ 3 s. The export's errors are its
   worst case: 300 error codes and 3 messages on 12 terminals make nearly
   every one of its 50,000 failures a group of its own.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Comparison

ROWS = int(os.environ.get("PILOTS_BENCH_RPA_ROWS", "1000000"))
TARGET_SECONDS = 15.0
TARGET_BYTES = 1.5 * 2**30
ISSUES_TARGET_SECONDS = 3.0

HEADER = (
    "タスクID,名前,シナリオID,シナリオ名,状態,タスク確認状態,データ一覧ファイルID,"
    "データ一覧ファイル名,アーカイブ,ログ,異常発生時,メール送信,メール送信日時,"
    "アーカイブファイルID,生成日時,開始日時,終了日時,更新日時,実行時間（秒）,"
    "実行予定WinActorID,実行予定WinActor名,WinActorID,WinActor名,スケジュールID,"
    "スケジュール名,実行予定日時,エラー,エラーコード,スケジュール登録者,リトライカウント,"
    "個別ステージID"
)
TASKS = [
    ("請求書登録", "会計課"),
    ("勤怠集計", "人事課"),
    ("受注データ転記", "商工政策課"),
    ("経費精算チェック", "会計課"),
    ("売上日報作成", "観光振興課"),
    ("給与明細配信", "人事課"),
    ("住民票交付集計", "市民課"),
    ("補助金申請受付", "農政課"),
    ("旅費計算", "総務課"),
    ("物品購入伺い", "財政課"),
    ("入札結果公開", "契約課"),
    ("研修申込集計", "職員課"),
    ("施設予約確認", "文化振興課"),
    ("健診結果入力", "健康増進課"),
    ("介護認定連絡", "高齢福祉課"),
    ("道路占用許可台帳", "道路課"),
    ("公文書収受登録", "文書課"),
    ("議会答弁集約", "秘書課"),
    ("統計調査集計", "統計課"),
    ("水道料金照合", "水道課"),
]
STATUSES = ["FINISH"] * 90 + ["ERROR"] * 4 + ["HALT"] + ["CANCEL"] * 3 + ["WAITING", "PROCESSING"]
ERRORS = [
    "ウィンドウ「業務システム - ログイン」が見つかりません。(ノード: ウィンドウ状態待機, 行: 12)",
    'ファイル ""C:\\共有\\日報.xlsx"" を開けません。\r\n別のプロセスが使用中です。',
    "シナリオの実行がタイムアウトしました。",
]


def catalog_csv(path: Path) -> None:
    """The task catalog of the generated export: two scenario names per task."""
    lines = [
        "業務ID,業務名,所属,シナリオ名,手作業時間(分/件),件数(件/回),残作業時間(分/回),"
        "例外対応時間(分/回)"
    ]
    for i, (name, dept) in enumerate(TASKS, start=1):
        lines.append(f"T{i:03d},{name},{dept},{name};{name}_v2,{3 + i % 7},{5 + i % 11},5,20")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp932"))


def wmc_export(path: Path, rows: int, seed: int = 2019) -> None:
    """Write a WinActor Manager task export of ``rows`` runs (MS932, CRLF)."""
    rng = random.Random(seed)
    scenarios = [name for name, _ in TASKS] + [f"{name}_v2" for name, _ in TASKS]
    scenarios += ["テスト用シナリオ", "旧_請求書登録"]  # not in the catalog: unmatched
    robots = [
        (f"8a80818f8e2b4c01018e2f6a1c3d{i:04d}", f"robo{i:02d}@192.168.10.{20 + i}")
        for i in range(12)
    ]
    first = datetime(2019, 4, 1)
    days = [(first + timedelta(days=d)).strftime("%Y/%m/%d") for d in range(367)]

    def stamp(seconds: int) -> str:
        day, rest = divmod(seconds, 86_400)
        hour, rest = divmod(rest, 3600)
        return f"{days[day]} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}"

    with path.open("wb") as out:
        out.write((HEADER + "\r\n").encode("cp932"))
        chunk: list[str] = []
        for n in range(rows):
            scenario_no = rng.randrange(len(scenarios))
            scenario = scenarios[scenario_no]
            status = rng.choice(STATUSES)
            robot_id, robot = robots[rng.randrange(len(robots))]
            # a working day's hours, 8:00–20:00, anywhere in the fiscal year
            created_s = rng.randrange(366) * 86_400 + 28_800 + rng.randrange(43_200)
            began_s = created_s + rng.randrange(1, 30)
            seconds = rng.randrange(20, 1800)
            created, ended = stamp(created_s), stamp(began_s + seconds)
            started_text, ended_text = stamp(began_s), ended
            error = code = ""
            if status in ("ERROR", "HALT"):
                error = f'"{rng.choice(ERRORS)}"'
                code = f"E0{rng.randrange(100, 400)}"
            if status == "WAITING":
                started_text = ended_text = ""
                seconds = 0
            task_id = f"8a80818f8f1a2b3c018f{n:012x}"
            scenario_id = f"8a80818f8d001122018d0b33445{scenario_no:05d}"
            chunk.append(
                f"{task_id},{scenario}_{created[5:7]}{created[8:10]},{scenario_id},{scenario},"
                f"{status},{'true' if status == 'FINISH' else 'false'},,,false,true,clean,"
                f"onError,,,{created},{started_text},{ended_text},{ended},"
                f"{seconds},{robot_id},{robot},{robot_id},{robot},"
                f"8a80818f8d001122018d0b33445501{scenario_no:02d},{scenario}(定時),"
                f"{created},{error},{code},rpa_admin,0,\r\n"
            )
            if len(chunk) >= 20_000:
                out.write("".join(chunk).encode("cp932"))
                chunk.clear()
        out.write("".join(chunk).encode("cp932"))


PANDAS = textwrap.dedent(
    """
    import sys, time
    import pandas
    start = time.perf_counter()
    frame = pandas.read_csv(sys.argv[1], encoding="cp932")
    print(time.perf_counter() - start, len(frame))
    """
)


def _measured(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run a process; return its wall time, its own peak RSS (bytes) and its stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(args, stdout=out_f, stderr=err_f, text=True, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out_f.seek(0)
        err_f.seek(0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{args[:6]} failed: {err_f.read()[-2000:]}")
        return elapsed, usage.ru_maxrss * 1024, out_f.read()


def run() -> list[Comparison]:
    """Generate the export, measure pilots and pandas on it, print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export, catalog = folder / "tasks.csv", folder / "catalog.csv"
        wmc_export(export, ROWS)
        catalog_csv(catalog)
        size = export.stat().st_size
        pilots = [sys.executable, "-m", "pilots", "--db", f"sqlite:///{folder / 'rpa.db'}", "rpa"]
        _measured([*pilots, "catalog", str(catalog)])
        ingest_s, ingest_rss, ingest_out = _measured([*pilots, "ingest", str(export)])
        summary_s, summary_rss, summary_out = _measured(
            [*pilots, "summary", "--fy", "2019", "--period", "final", "--json"]
        )
        issues_s, issues_rss, issues_out = _measured(
            [*pilots, "issues", "--fy", "2019", "--period", "final"]
        )
        pandas_wall, pandas_rss, pandas_out = _measured([sys.executable, "-c", PANDAS, str(export)])
        pandas_s = float(pandas_out.split()[0])
    total = ingest_s + summary_s
    peak = max(ingest_rss, summary_rss)
    print(f"file: {ROWS:,} rows, {size / 2**20:,.0f} MiB (MS932, CRLF)", flush=True)
    print(ingest_out.strip().splitlines()[0], flush=True)
    figures = json.loads(summary_out)
    print(
        f"summary: reduced {figures['reduced_hours']:,.1f} h, pooled rate "
        f"{figures['reduction_rate']:.1%}, {figures['runs_success']:,} successes",
        flush=True,
    )
    print(
        f"pilots: ingest {ingest_s:.2f} s ({ROWS / ingest_s:,.0f} rows/s), "
        f"summary {summary_s:.2f} s, total {total:.2f} s ({ROWS / total:,.0f} rows/s); "
        "peak memory ingest "
        f"{ingest_rss / 2**20:,.0f} MiB, summary {summary_rss / 2**20:,.0f} MiB",
        flush=True,
    )
    print(
        f"pandas.read_csv: {pandas_s:.2f} s ({ROWS / pandas_s:,.0f} rows/s; "
        f"process {pandas_wall:.2f} s), peak memory {pandas_rss / 2**20:,.0f} MiB",
        flush=True,
    )
    print(issues_out.strip().splitlines()[2], flush=True)
    print(
        f"issues: {issues_s:.2f} s (target ≤ {ISSUES_TARGET_SECONDS:.0f} s: "
        f"{'met' if issues_s <= ISSUES_TARGET_SECONDS else 'NOT MET'}), "
        f"peak memory {issues_rss / 2**20:,.0f} MiB",
        flush=True,
    )
    met = total <= TARGET_SECONDS and peak <= TARGET_BYTES
    print(
        f"target (≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_BYTES / 2**30:.1f} GiB): "
        f"{'met' if met else 'NOT MET'} ({total:.2f} s, {peak / 2**30:.2f} GiB)",
        flush=True,
    )
    return [
        Comparison(
            f"rpa ingest + summary ({ROWS:,}-row WinActor export, MS932)",
            total,
            "pandas.read_csv",
            pandas_s,
            note="pilots stores, dedups and aggregates; pandas only parses",
        ),
        Comparison(
            f"rpa issues ({ROWS:,} runs)",
            issues_s,
            "rpa summary",
            summary_s,
            note=f"target ≤ {ISSUES_TARGET_SECONDS:.0f} s",
        ),
    ]

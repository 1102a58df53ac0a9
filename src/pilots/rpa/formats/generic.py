"""The generic run log: a CSV the RPA team writes for a tool without an export of its own.

Columns (English or Japanese header; any order):

- ``scenario`` / シナリオ名 — the scenario name as in the task catalog (required)
- ``started_at`` / 開始日時 — start, e.g. ``2019-06-03 09:00:00`` (required column)
- ``ended_at`` / 終了日時 — end (required column; may be empty)
- ``status`` / 状態 or 結果 — success / failure / other, or 成功 / 失敗 / その他
- ``cases`` / 件数 — items processed (optional; empty → the catalog's cases_per_run)
- ``run_id`` / 実行ID — the run's id, if the tool has one (optional)
- ``robot`` / ロボット or 端末 — the terminal that ran it (optional)
- ``error_code`` / エラーコード — error code (optional)
- ``message`` / メッセージ or エラー — error message (optional)
- ``retries`` / リトライ回数 — how many times the run was retried (optional)

Times without an offset are Japan time; ``Z`` or ``+09:00`` are honoured.
Without ``run_id`` a run is identified by a hash of its scenario, start
time and robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pilots.rpa.formats.base import Header, Layout, RunFormat, has_all, status_table

STATUSES = status_table(
    success=("success", "succeeded", "successful", "ok", "成功", "正常", "正常終了"),
    failure=("failure", "failed", "error", "失敗", "異常", "異常終了", "エラー"),
    final=("other", "cancelled", "canceled", "その他", "取消", "中止"),
    pending=("running", "waiting", "実行中", "待機中"),
)

SCENARIO = ("scenario", "シナリオ名", "シナリオ")
STARTED = ("started_at", "開始日時")
ENDED = ("ended_at", "終了日時")
STATUS = ("status", "状態", "結果")


def detect(header: Sequence[str]) -> bool:
    """The four required columns, by their English or Japanese names."""
    return has_all(header, SCENARIO, STARTED, ENDED, STATUS)


def bind(path: Path, cells: Sequence[str]) -> Layout:
    """Where the run's fields are in this header."""
    h = Header(path, cells)
    return Layout(
        run_id=h.col("run_id", "実行ID"),
        scenario=h.need(*SCENARIO),
        status=h.need(*STATUS),
        started=h.need(*STARTED),
        ended=h.need(*ENDED),
        cases=h.col("cases", "件数", "処理件数"),
        robot=h.col("robot", "ロボット", "実行端末", "端末"),
        error_code=h.col("error_code", "エラーコード"),
        error=h.col("message", "メッセージ", "エラー"),
        retries=h.col("retries", "リトライ回数", "リトライカウント"),
    )


FORMAT = RunFormat(
    name="generic",
    label="汎用の実行ログ",
    expects=(
        "scenario, started_at, ended_at, status"
        "（任意: cases, run_id, robot, error_code, message, retries）"
    ),
    detect=detect,
    bind=bind,
    statuses=STATUSES,
)

"""WinActor Manager on Cloud: the task export (タスクエクスポート, ``GET /tasks/csv``).

The format, as the vendor's API specification gives it (msys-winactor/
winactor-for-wmc, "WinActor Manager API - MoC v3.8.yaml", ``/tasks/csv`` and
``components.parameters.Encoding``):

* a fixed header row of 31 Japanese column names (:data:`HEADER`);
* MS932 (CP932) unless ``encoding=UTF-8`` was asked for; CRLF line ends;
* ``状態`` holds the task status code: WAITING, PROCESSING, FINISH, CANCELING,
  CANCEL, HALT or ERROR. The specification's scenario counters define success
  as FINISH and failure as ERROR/HALT (``Scenario.successCount`` /
  ``failureCount``); the rest are other. The Japanese labels the web screens
  use (正常終了, 異常終了, 実行取消 …) are accepted too;
* times ``yyyy/MM/dd HH:mm:ss`` in the server's local time (Japan time);
* no department and no item count: a run's department is its task's and its
  cases are the catalog's ``cases_per_run``;
* the terminal is ``WinActor名`` (else ``実行予定WinActor名``), the error
  ``エラーコード`` and ``エラー``, the retry count ``リトライカウント``.

A retry is a new task with its own タスクID, so each attempt is its own run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pilots.rpa.formats.base import Header, Layout, RunFormat, has_all, status_table

HEADER: tuple[str, ...] = (
    "タスクID",
    "名前",
    "シナリオID",
    "シナリオ名",
    "状態",
    "タスク確認状態",
    "データ一覧ファイルID",
    "データ一覧ファイル名",
    "アーカイブ",
    "ログ",
    "異常発生時",
    "メール送信",
    "メール送信日時",
    "アーカイブファイルID",
    "生成日時",
    "開始日時",
    "終了日時",
    "更新日時",
    "実行時間（秒）",
    "実行予定WinActorID",
    "実行予定WinActor名",
    "WinActorID",
    "WinActor名",
    "スケジュールID",
    "スケジュール名",
    "実行予定日時",
    "エラー",
    "エラーコード",
    "スケジュール登録者",
    "リトライカウント",
    "個別ステージID",
)
"""The fixed header of the task export, in order (31 columns)."""

STATUSES = status_table(
    success=("FINISH", "正常終了"),
    failure=("ERROR", "HALT", "異常終了", "異常停止"),
    final=("CANCEL", "実行取消", "中断"),
    pending=("WAITING", "PROCESSING", "CANCELING", "待機中", "実行待ち", "実行中", "中断中"),
)


def detect(header: Sequence[str]) -> bool:
    """The task export: its identifying columns, and one only it has beside them.

    The schedule export (``/schedules/csv``) shares 名前, シナリオID and
    シナリオ名 but has no タスクID, 状態 or 開始日時.
    """
    return has_all(
        header,
        ("タスクID",),
        ("シナリオ名",),
        ("状態",),
        ("開始日時",),
        ("終了日時",),
        ("WinActor名", "実行時間（秒）", "リトライカウント"),
    )


def bind(path: Path, cells: Sequence[str]) -> Layout:
    """Where the run's fields are in this header."""
    h = Header(path, cells)
    return Layout(
        run_id=h.need("タスクID"),
        scenario=h.need("シナリオ名"),
        status=h.need("状態"),
        started=h.need("開始日時"),
        ended=h.need("終了日時"),
        created=h.col("生成日時"),
        robot=h.col("WinActor名") + h.col("実行予定WinActor名"),
        error_code=h.col("エラーコード"),
        error=h.col("エラー"),
        retries=h.col("リトライカウント"),
    )


FORMAT = RunFormat(
    name="wmc",
    label="WinActor Manager on Cloud タスクエクスポート",
    expects="タスクID, シナリオ名, 状態, 開始日時, 終了日時, WinActor名 …（31列の固定見出し）",
    detect=detect,
    bind=bind,
    statuses=STATUSES,
)

"""UiPath Orchestrator jobs: the API's fields (OData ``Jobs``) or the Jobs grid export.

* **API** (``GET /odata/Jobs`` flattened to CSV): ``Key`` (the job's unique id),
  ``ReleaseName`` (or ``ProcessName``) as the process, ``State``, ``StartTime``,
  ``EndTime``, ``CreationTime``, ``HostMachineName``, ``Info``. Times are UTC
  with ``Z`` and become Japan time.
* **Grid export** (Jobs page, exported to CSV): the on-screen labels ``Process``,
  ``State``, ``Started``, ``Ended``, ``Hostname``, ``Machine`` … or their
  Japanese labels (プロセス, ステート, 開始, 終了, ホスト名, マシン). Times are
  shown in the tenant's time zone without an offset and are taken as Japan
  time. Without a ``Key`` / ``Job key`` column a job is identified by a hash
  of its process, host and start time.

The terminal is ``HostMachineName`` (Hostname); the error message is
``Info``. A job has no error code and no retry count.

``State``: Successful is success, Faulted is failure, everything else
(Pending, Running, Stopping, Terminating, Stopped, Suspended, Resumed) is
other. The enum's numbers (5 = Successful, 4 = Faulted …) and the Japanese UI
labels (成功, 失敗 …) are accepted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pilots.rpa.formats.base import Header, Layout, RunFormat, has_all, status_table

STATUSES = status_table(
    success=("Successful", "5", "成功"),
    failure=("Faulted", "4", "失敗"),
    final=("Stopped", "6", "停止"),
    pending=(
        "Pending",
        "0",
        "Running",
        "1",
        "Stopping",
        "2",
        "Terminating",
        "3",
        "Suspended",
        "7",
        "Resumed",
        "8",
        "保留中",
        "実行中",
        "停止中",
        "終了中",
        "中断",
        "中断中",
        "再開",
    ),
)

_API_PROCESS = (
    "ReleaseName",
    "ProcessName",
    "Release.ProcessKey",
    "Release/ProcessKey",
    "Release.Name",
    "Release/Name",
)
_GRID_PROCESS = ("Process", "Process name", "プロセス", "プロセス名")
_GRID_STATE = ("State", "Status", "ステート", "状態")
_GRID_STARTED = ("Started", "Start time", "開始", "開始時刻")
_GRID_ENDED = ("Ended", "End time", "終了", "終了時刻")
_GRID_HOST = ("Hostname", "Host name", "ホスト名")
_GRID_MACHINE = ("Machine", "マシン")
_GRID_OTHER = ("Host identity", "Priority", "優先度", "Source", "ソース")


def _is_api(header: Sequence[str]) -> bool:
    return has_all(header, ("State",), ("StartTime",), ("EndTime",), ("Key", "Id"), _API_PROCESS)


def _is_grid(header: Sequence[str]) -> bool:
    return has_all(
        header,
        _GRID_PROCESS,
        _GRID_STATE,
        _GRID_STARTED,
        _GRID_ENDED,
        _GRID_HOST + _GRID_MACHINE + _GRID_OTHER,
    )


def detect(header: Sequence[str]) -> bool:
    """The API's field names or the Jobs grid's labels."""
    return _is_api(header) or _is_grid(header)


def bind(path: Path, cells: Sequence[str]) -> Layout:
    """Where the run's fields are in this header (API fields first, else the grid labels)."""
    h = Header(path, cells)
    if _is_api(cells):
        return Layout(
            run_id=h.col("Key") + h.col("Id"),
            scenario=h.need(*_API_PROCESS),
            status=h.need("State"),
            started=h.need("StartTime"),
            ended=h.need("EndTime"),
            created=h.col("CreationTime"),
            robot=h.col("HostMachineName", "Robot.Name", "Robot/Name", "RobotName"),
            error=h.col("Info"),
        )
    return Layout(
        run_id=h.col("Key", "Job key", "JobKey", "ジョブキー"),
        scenario=h.need(*_GRID_PROCESS),
        status=h.need(*_GRID_STATE),
        started=h.need(*_GRID_STARTED),
        ended=h.need(*_GRID_ENDED),
        created=h.col("Created", "Creation time", "作成", "作成日時"),
        robot=h.col(*_GRID_HOST) + h.col(*_GRID_MACHINE, "Robot", "ロボット"),
        error=h.col("Info", "情報"),
    )


FORMAT = RunFormat(
    name="uipath",
    label="UiPath Orchestrator ジョブ",
    expects=(
        "Key, ReleaseName（または ProcessName）, State, StartTime, EndTime（API）"
        "、または Process, State, Started, Ended, Hostname / Machine（ジョブ画面のエクスポート）"
    ),
    detect=detect,
    bind=bind,
    statuses=STATUSES,
)

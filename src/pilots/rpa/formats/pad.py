"""Power Automate desktop flow runs: the Dataverse ``flowsession`` table.

* **Logical names** (Web API, Power Query, a Dataverse export by column name):
  ``flowsessionid``, ``name``, ``statuscode``, ``startedon``, ``completedon``,
  ``createdon``, ``errorcode``, ``errormessage``. Times are UTC with ``Z`` and
  become Japan time.
* **Display names** (a view exported from the Power Apps maker portal):
  ``Flow Session`` / ``FlowSession``, ``Name``, ``Status Reason``,
  ``Started On``, ``Completed On``, ``Regarding`` … Times are the viewer's
  local time without an offset and are taken as Japan time.

The scenario is the desktop flow's name: the ``Regarding`` display value
when the export has one, else ``name``. The error is ``errorcode`` and
``errormessage`` (ErrorCode, ErrorMessage); the terminal the flow's machine
(``_machineid_value`` formatted, or Flow Machine / Machine).

``statuscode`` (label or number): Succeeded (4) is success; Failed (8),
Faulted (9), TimedOut (10), Aborted (11) and Terminated (14) are failure;
the rest (NotSpecified, Paused, Running, Waiting, Skipped, Suspended,
Cancelled, Ignored, Deleted) are other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pilots.rpa.formats.base import Header, Layout, RunFormat, has_all, status_table

STATUSES = status_table(
    success=("Succeeded", "4", "成功"),
    failure=(
        "Failed",
        "8",
        "Faulted",
        "9",
        "TimedOut",
        "Timed Out",
        "10",
        "Aborted",
        "11",
        "Terminated",
        "14",
        "失敗",
    ),
    final=("Skipped", "5", "Cancelled", "Canceled", "7", "Ignored", "12", "Deleted", "13"),
    pending=("NotSpecified", "0", "Paused", "1", "Running", "2", "Waiting", "3", "Suspended", "6"),
)

_REGARDING = (
    "Regarding",
    "_regardingobjectid_value@OData.Community.Display.V1.FormattedValue",
    "regardingobjectidname",
)


def _is_logical(header: Sequence[str]) -> bool:
    return has_all(header, ("statuscode",), ("startedon",), ("completedon",), ("name",))


def _is_display(header: Sequence[str]) -> bool:
    return has_all(
        header,
        ("Status Reason",),
        ("Started On",),
        ("Completed On",),
        ("Name", "Regarding"),
    )


def detect(header: Sequence[str]) -> bool:
    """The table's logical names or its display names."""
    return _is_logical(header) or _is_display(header)


def bind(path: Path, cells: Sequence[str]) -> Layout:
    """Where the run's fields are in this header (logical names first, else display names)."""
    h = Header(path, cells)
    regarding = h.col(*_REGARDING)
    if _is_logical(cells):
        return Layout(
            run_id=h.col("flowsessionid"),
            scenario=regarding + h.need("name"),
            status=h.need("statuscode"),
            started=h.need("startedon"),
            ended=h.need("completedon"),
            created=h.col("createdon"),
            robot=h.col("_machineid_value@OData.Community.Display.V1.FormattedValue"),
            error_code=h.col("errorcode"),
            error=h.col("errormessage"),
        )
    return Layout(
        run_id=h.col("Flow Session", "FlowSession", "(Do Not Modify) Flow Session"),
        scenario=regarding + h.col("Name"),
        status=h.need("Status Reason"),
        started=h.need("Started On"),
        ended=h.need("Completed On"),
        created=h.col("Created On"),
        robot=h.col("Flow Machine", "Machine"),
        error_code=h.col("ErrorCode", "Error Code"),
        error=h.col("ErrorMessage", "Error Message"),
    )


FORMAT = RunFormat(
    name="pad",
    label="Power Automate デスクトップフローの実行（flowsession）",
    expects=(
        "name, statuscode, startedon, completedon（論理名）"
        "、または Name / Regarding, Status Reason, Started On, Completed On（表示名）"
    ),
    detect=detect,
    bind=bind,
    statuses=STATUSES,
)

"""Measured correction time (SPEC §3): the editor's activity → stretches of work → their union.

SPEC §3 "Where the correction time comes from": the correction editor measures
**active time**, time with the page visible in which the clerk types, plays or
navigates; an idle gap longer than the setting ``asr.idle_gap_seconds`` is not
counted. The rule, as computed here:

1. **Moments.** The editor page reports, per browser tab, the moments of its own
   clock (milliseconds since 1970) at which the clerk was active while the page
   was visible: a key typed, a click, a scroll, a jump — and every second while
   the recording plays (listening is work). It also reports the moments the page
   was hidden (another tab, a minimised window, the tab closed).
2. **Stretches, per tab.** Two consecutive moments at most ``idle_gap`` apart are
   one stretch of work, and the time between them counts; a longer gap does not
   count at all (not even ``idle_gap`` of it). A moment the page was hidden ends
   the stretch: the time up to it counts when it comes within ``idle_gap`` of the
   last moment, nothing after it does until the next moment.
3. **Union.** A job's correction time is the length of the union of the
   stretches of all its tabs, sessions and users: an hour in which two tabs were
   both active is one hour. A job reopened and corrected again adds its new
   stretches to the same union.

It follows that the time is never more than the wall time the moments span (the
first moment to the last), and that a single moment alone counts nothing. Tabs
are compared on their own clocks, which agree on one PC (a tab on a PC whose
clock is wrong could overlap less than it really did).

The stretches are built on the server, from the moments as they arrive
(:func:`record_activity`), and kept in :class:`pilots.tables.EditActivity`;
:func:`active_seconds` computes the union when the clerk marks the job done.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilots.errors import PilotsError
from pilots.tables import EditActivity

MAX_MOMENTS = 5000
"""The most moments one report may carry (a report comes every two seconds or so)."""
_LARGEST_MS = 2**53  # a JavaScript number that is still an exact integer


class ActivityError(PilotsError):
    """An activity report that cannot be right (not numbers, too many)."""


@dataclass(frozen=True)
class Stretch:
    """A stretch of work in one tab: from ``start_ms`` to ``end_ms`` of the page's clock.

    ``open`` is true while the next moment of the tab may still extend it (it
    was not ended by the page being hidden).
    """

    start_ms: int
    end_ms: int
    open: bool = True


def _moments(values: Sequence[object], what: str) -> list[int]:
    if len(values) > MAX_MOMENTS:
        raise ActivityError(f"{what}が多すぎます（1回に{MAX_MOMENTS}件まで）")
    found = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ActivityError(f"{what}が数値ではありません: {value!r}")
        if not 0 < value < _LARGEST_MS:
            raise ActivityError(f"{what}の時刻が正しくありません: {value!r}")
        found.append(int(value))
    return sorted(found)


def extend_stretches(
    last: Stretch | None, moments: Sequence[int], hidden: Sequence[int], idle_gap_ms: int
) -> list[Stretch]:
    """The tab's stretches after a report: ``last`` (its latest stretch) extended, new ones after.

    Rule 2 of the module: consecutive moments at most ``idle_gap_ms`` apart join;
    a hidden moment ends the stretch (counted up to it if within the gap). Moments
    that fall inside ``last`` change nothing; a moment before ``last`` (a report
    that arrived late) starts its own stretch, which the union of rule 3 absorbs.

    Returns:
        ``last`` as it is now (if given) followed by the new stretches, in time order.
    """
    events = sorted([(t, 0) for t in moments] + [(t, 1) for t in hidden])
    result: list[Stretch] = []
    current = last
    for time, is_hidden in events:
        if current is not None and current.start_ms <= time <= current.end_ms:
            if is_hidden:
                current = Stretch(current.start_ms, current.end_ms, open=False)
            continue
        joins = (
            current is not None
            and current.open
            and current.end_ms < time <= current.end_ms + idle_gap_ms
        )
        if is_hidden:
            if current is not None and joins:
                current = Stretch(current.start_ms, time, open=False)
            elif current is not None and current.end_ms < time:
                current = Stretch(current.start_ms, current.end_ms, open=False)
            continue
        if current is not None and joins:
            current = Stretch(current.start_ms, time)
            continue
        if current is not None:
            result.append(current)
        current = Stretch(time, time)
    if current is not None:
        result.append(current)
    return result


def union_seconds(stretches: Iterable[tuple[int, int]]) -> float:
    """The length in seconds of the union of ``(start_ms, end_ms)`` stretches (rule 3)."""
    total = 0
    reach = None
    begin = 0
    for start, end in sorted(stretches):
        if reach is None or start > reach:
            if reach is not None:
                total += reach - begin
            begin, reach = start, end
        else:
            reach = max(reach, end)
    if reach is not None:
        total += reach - begin
    return total / 1000


def record_activity(
    session: Session,
    job_id: int,
    *,
    tab: str,
    user: str,
    moments: Sequence[object],
    hidden: Sequence[object] = (),
    idle_gap_seconds: float,
) -> None:
    """Add one tab's reported moments to the job's stretches of work (rules 1 and 2).

    Raises:
        ActivityError: a moment is not a plausible time, or there are too many.
    """
    times = _moments(moments, "操作の時刻")
    hides = _moments(hidden, "非表示の時刻")
    if not times and not hides:
        return
    latest = session.scalar(
        select(EditActivity)
        .where(EditActivity.job_id == job_id, EditActivity.tab == tab)
        .order_by(EditActivity.ended_ms.desc(), EditActivity.id.desc())
        .limit(1)
    )
    last = None if latest is None else Stretch(latest.started_ms, latest.ended_ms, latest.open)
    stretches = extend_stretches(last, times, hides, round(idle_gap_seconds * 1000))
    if latest is not None and stretches and stretches[0].start_ms == latest.started_ms:
        first = stretches.pop(0)
        latest.ended_ms, latest.open = first.end_ms, first.open
    for stretch in stretches:
        session.add(
            EditActivity(
                job_id=job_id,
                tab=tab[:40],
                user_name=user[:100],
                started_ms=stretch.start_ms,
                ended_ms=stretch.end_ms,
                open=stretch.open,
            )
        )
    session.flush()


def active_seconds(session: Session, job_id: int) -> float:
    """The job's measured correction time in seconds: the union of all its stretches (rule 3)."""
    rows = session.execute(
        select(EditActivity.started_ms, EditActivity.ended_ms).where(EditActivity.job_id == job_id)
    )
    return union_seconds((start, end) for start, end in rows)


def recent_tabs(
    session: Session, job_id: int, tab: str, now_ms: int, idle_gap_seconds: float
) -> int:
    """How many other tabs of the job were active within ``idle_gap_seconds`` before ``now_ms``.

    The editor tells the clerk when the job is open elsewhere too (another tab,
    another person); the version check of every save keeps either from
    overwriting the other.
    """
    since = now_ms - round(idle_gap_seconds * 1000)
    tabs = session.scalars(
        select(EditActivity.tab)
        .where(
            EditActivity.job_id == job_id,
            EditActivity.tab != tab,
            EditActivity.ended_ms >= since,
        )
        .distinct()
    )
    return len(list(tabs))

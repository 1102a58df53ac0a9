"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """One benchmark line: pilots against its baseline, both measured now."""

    name: str
    pilots_seconds: float
    baseline_name: str
    baseline_seconds: float
    note: str = ""

    @property
    def ratio(self) -> float:
        """pilots time divided by baseline time (1.10 = 10% slower than the baseline)."""
        return self.pilots_seconds / self.baseline_seconds

    def line(self) -> str:
        """The line `make bench` prints."""
        text = (
            f"{self.name}: pilots {self.pilots_seconds:.3f} s, {self.baseline_name} "
            f"{self.baseline_seconds:.3f} s, ratio {self.ratio:.2f}"
        )
        return text + (f" ({self.note})" if self.note else "")


def best_of(repeat: int, func: Callable[[], object]) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``func()``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best

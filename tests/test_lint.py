"""The checks of ``make lint`` run with the tests: the type checker covers the benchmarks too.

The benchmarks run only under ``make bench``, so nothing else would notice one
calling an API that moved: after the drafting pipeline was restructured,
``bench_improve`` and ``bench_marks`` still called ``Transcriber.transcribe``,
which no longer existed, and mypy (which did not check ``bench/`` then) said so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_the_type_checker_finds_nothing_in_pilots_or_the_benchmarks() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_the_linter_and_the_formatter_find_nothing() -> None:
    for args in (("ruff", "check"), ("ruff", "format", "--check")):
        result = _run(*args, "src", "tests", "bench", "scripts")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]

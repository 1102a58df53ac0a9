"""What the browser tests share: a real ``pilots serve`` process and the axe-core check.

The browser itself (Debian's chromium, driven by playwright) and a fresh tab
per test are the ``browser`` and ``page`` fixtures of ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, SAMPLES

CHROMIUM = Path("/usr/bin/chromium")
DEMO = ROOT / "data" / "demo"
# Installed by `make test` from package-lock.json (npm ci).
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The project's standard: WCAG 2.1 levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(folder: Path, model_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server: its own data folder, the test run's model folder."""
    env = dict(
        os.environ,
        PILOTS_MODEL_DIR=str(model_dir),
        PILOTS_DATA_DIR=str(folder / "data"),
        **extra,
    )
    env.pop("PILOTS_DATABASE_URL", None)
    return env


def build_demo(folder: Path, env: dict[str, str]) -> str:
    """The demo database (``pilots demo --no-transcribe``) in ``folder``; returns its URL."""
    demo = subprocess.run(
        [sys.executable, "-m", "pilots", "demo", "--no-transcribe", "--out", str(folder / "demo"),
         "--data", str(DEMO), "--samples", str(SAMPLES)],
        env=env, cwd=folder, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    return f"sqlite:///{folder / 'demo' / 'demo.db'}"


@contextlib.contextmanager
def serve(folder: Path, db_url: str, env: dict[str, str], *args: str) -> Iterator[str]:
    """Run ``pilots serve`` (with its worker unless ``args`` say ``--no-worker``) on a free
    127.0.0.1 port; yields its base URL."""
    port = _free_port()
    log_path = folder / f"serve-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pilots", "--db", db_url, "serve", "--port", str(port), *args],
            env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                if proc.poll() is not None:
                    raise AssertionError(log_path.read_text())
                try:
                    with urllib.request.urlopen(base + "/login", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.5)
            else:
                raise AssertionError("pilots serve did not start: " + log_path.read_text())
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line per element.

    The page's CSP forbids foreign scripts; the test context is opened with
    ``bypass_csp=True`` so that axe can be injected.
    """
    assert AXE.is_file(), f"{AXE} がありません（make test が npm ci で入れます）"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id,
                help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        AXE_TAGS,
    )
    return [f"{v['id']} ({v['help']}): {node}" for v in found for node in v["nodes"]]


def assert_accessible(page: Any) -> None:
    """Fail with axe-core's findings unless the page passes every WCAG 2.1 A/AA rule."""
    violations = axe_violations(page)
    assert violations == [], f"{page.url}:\n" + "\n".join(violations)

"""Render the first page of a report as PNG with headless Chromium (for the README's picture).

    python scripts/screenshot_report.py reports/report_fy2019_final.html docs/report-first-page.png

Uses Debian's chromium (``apt-get install chromium fonts-noto-cjk``); nothing is fetched.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def main() -> None:
    """Screenshot the top of the page at roughly an A4 page's proportions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                args.chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--window-size=900,1270",
                f"--screenshot={args.png.resolve()}",
                args.html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


if __name__ == "__main__":
    main()

"""`make demo`: build a fresh demo database from data/demo/ and show what pilots has.

The full FY2019 effect report arrives with issue 6 (`pilots demo`); until
then this runs the parts that exist and says so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DB = ROOT / "data" / "demo.db"


def pilots(*args: str) -> None:
    """Run one pilots command on the demo database, stopping the demo if it fails."""
    command = [sys.executable, "-m", "pilots", "--db", f"sqlite:///{DEMO_DB}", *args]
    print("$ pilots " + " ".join(args), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def main() -> None:
    """Rebuild the demo database and run every job that exists so far."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DEMO_DB}{suffix}").unlink(missing_ok=True)
    pilots("init")
    pilots("org", "import", "data/demo/departments.csv")
    pilots("org", "list")
    print(
        "\nデモ: 所属の取り込みまで実行しました（データベース: data/demo.db）。"
        "\n効果測定レポートの生成は今後の版で追加されます。"
    )


if __name__ == "__main__":
    main()

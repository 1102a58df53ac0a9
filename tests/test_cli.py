"""The command line: help texts, errors as one Japanese line, and a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pilots.cli import cli
from tests.conftest import Pilots


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(cli))
def test_every_command_has_help(name: str, command: click.Command) -> None:
    assert command.help and command.help.strip(), f"pilots {name} has no help text"
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("pilots ")


def test_importing_cli_stays_light() -> None:
    code = (
        "import sys, pilots.cli\n"
        "heavy = [m for m in ('faster_whisper', 'ctranslate2', 'pandas', 'matplotlib',"
        " 'openpyxl', 'sqlalchemy', 'docx', 'starlette', 'uvicorn', 'jinja2', 'numpy', 'av',"
        " 'fugashi', 'rapidfuzz', 'alembic', 'psycopg') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "エラー: データベースURLを解釈できません: 'nonsense'"),
        ("oracle://u:p@h/x", "エラー: 対応していないデータベースです"),
        ("postgresql://u:secret@127.0.0.1:1/x", "エラー: データベースに接続できません"),
    ],
)
def test_bad_db_url_gives_one_error_line(url: str, message: str) -> None:
    result = CliRunner().invoke(cli, ["--db", url, "org", "list"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(message)
    assert "secret" not in result.stderr


def test_db_url_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    result = CliRunner().invoke(cli, ["init"], env={"PILOTS_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").is_file()


def test_default_database_is_created_in_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PILOTS_DATABASE_URL", raising=False)
    monkeypatch.delenv("PILOTS_DATA_DIR", raising=False)
    result = CliRunner().invoke(cli, ["rpa", "summary", "--fy", "2019", "--period", "final"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "pilots.db").is_file()
    database = Path("data") / "pilots.db"
    assert result.stderr == f"新しいデータベースを作成しました（空です）: {database}\n"
    again = CliRunner().invoke(cli, ["rpa", "summary", "--fy", "2019", "--period", "final"])
    assert again.exit_code == 0 and again.stderr == ""


@pytest.mark.parametrize("via", ["--db", "PILOTS_DATABASE_URL"])
def test_database_in_a_missing_folder_is_an_error_naming_it(tmp_path: Path, via: str) -> None:
    """A typo in the database path must not look like "no data" (an all-zero summary)."""
    target = tmp_path / "typo" / "pilots.db"
    url = f"sqlite:///{target}"
    args = ["rpa", "summary", "--fy", "2019", "--period", "final"]
    if via == "--db":
        result = CliRunner().invoke(cli, ["--db", url, *args])
    else:
        result = CliRunner().invoke(cli, args, env={"PILOTS_DATABASE_URL": url})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"エラー: データベースのフォルダがありません: {target}"
        "（パスを確かめてください。新しいデータベースは pilots init で作れます）"
    ]
    assert not target.parent.exists()


def test_init_creates_the_folder_and_a_new_database_is_announced(tmp_path: Path) -> None:
    target = tmp_path / "new" / "pilots.db"
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{target}", "init"])
    assert result.exit_code == 0, result.output
    assert target.is_file()
    assert result.stderr == f"新しいデータベースを作成しました（空です）: {target}\n"
    # a read-only command on a database that did not exist says it created an empty one
    other = tmp_path / "other.db"
    summary = CliRunner().invoke(cli, ["--db", f"sqlite:///{other}", "survey", "summary", "--json"])
    assert f"新しいデータベースを作成しました（空です）: {other}" in summary.stderr
    again = CliRunner().invoke(cli, ["--db", f"sqlite:///{target}", "org", "list"])
    assert again.exit_code == 0 and again.stderr == ""


def test_debug_shows_the_traceback() -> None:
    result = CliRunner().invoke(cli, ["--debug", "--db", "nonsense", "org", "list"])
    assert result.exit_code == 1
    assert result.exception is not None
    assert type(result.exception).__name__ == "DatabaseError"


def test_org_import_and_list_end_to_end(pilots: Pilots, tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_bytes(
        "所属コード,所属名,上位所属コード\r\n100,総務部,\r\n110,人事課,100\r\n".encode("cp932")
    )
    out = pilots("org", "import", str(path)).output
    assert "2行（追加 2、更新 0、変更なし 0）" in out
    listing = pilots("org", "list").output
    assert "人事課" in listing and "100" in listing
    again = pilots("org", "import", str(path), "--json").output
    assert '"unchanged": 2' in again


def test_bad_org_row_is_one_line_naming_file_and_row(pilots: Pilots, tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text("所属コード,所属名\n100,総務部\n,人事課\n", encoding="utf-8")
    result = pilots("org", "import", str(path), ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"エラー: {path} 3行目（列「所属コード」）: 所属コードが空です"
    assert "人事課" not in pilots("org", "list").output  # nothing half-written


def test_missing_file_is_named(pilots: Pilots, tmp_path: Path) -> None:
    result = pilots("org", "import", str(tmp_path / "nope.csv"), ok=False)
    assert result.exit_code == 1
    assert "nope.csv: ファイルがありません" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["asr", "summary", "--fy", "2019", "--period", "final", "--as-of", "来週"],
            "エラー: --as-of: 日付として読めません: 来週",
        ),
        (
            ["asr", "summary", "--fy", "2019", "--period", "final", "--as-of", "2020-04-01"],
            "エラー: --as-of: 基準日 2020-04-01（令和2年4月1日）は令和元年度",
        ),
        (
            ["report", "--fy", "2019", "--period", "interim", "--as-of", "令和元年4月30日"],
            "エラー: --as-of: 令和元年4月30日 は令和の範囲外です",
        ),
        (
            ["survey", "summary", "--as-of", "2019/02/30"],
            "エラー: --as-of: 日付として正しくありません",
        ),
    ],
)
def test_bad_dates_name_the_option(pilots: Pilots, args: list[str], expected: str) -> None:
    result = pilots(*args, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().startswith(expected), result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["asr", "summary", "--fy", "2019"], "エラー: '--period' を指定してください"),
        (
            ["asr", "summary", "--fy", "2019", "--period", "annual"],
            "エラー: '--period': 値が正しくありません",
        ),
        (["--nope"], "エラー: --nope というオプションはありません"),
    ],
)
def test_command_line_mistakes_end_in_one_japanese_line(args: list[str], expected: str) -> None:
    out = subprocess.run([sys.executable, "-m", "pilots", *args], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith(expected)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--fy", "2019", "--period", "final", "--plan", "PLAN", "-o", "OUT"],
        ["demo", "--no-transcribe", "--data", "DEMO", "--out", "OUT"],
        ["asr", "transcribe", "MEETING", "-o", "OUT"],
    ],
    ids=lambda args: args[0] if args[0] != "asr" else "asr transcribe",
)
def test_output_folder_under_a_file_is_one_line_naming_it(
    pilots: Pilots, tmp_path: Path, args: list[str]
) -> None:
    blocker = tmp_path / "報告書.txt"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    out = blocker / "reports"
    root = Path(__file__).parent.parent
    values = {
        "PLAN": str(root / "tests" / "data" / "report" / "plan.yaml"),
        "DEMO": str(root / "data" / "demo"),
        "MEETING": str(root / "data" / "samples" / "joho_rpa_weekly.flac"),
        "OUT": str(out),
    }
    result = pilots(*[values.get(a, a) for a in args], ok=False)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"エラー: {out}: 書き込めません（{blocker} はフォルダではなくファイルです）"
    ]
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"


def test_users_file_under_a_file_is_one_line_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "users"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    target = blocker / "users.json"
    args = ["users", "add", "sato", "--role", "clerk", "--password-stdin", "--users", str(target)]
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'p.db'}", *args], input="pass-word-123\n"
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"エラー: {blocker}: 書き込めません（フォルダではなくファイルです）"
    ]

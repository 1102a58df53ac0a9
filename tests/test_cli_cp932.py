"""Every command and its help on a CP932 console (Japanese Windows with output redirected).

Each command runs as ``python -m pilots`` in a process of its own with
``PYTHONIOENCODING=cp932``, which is what a redirected stdout is on Japanese
Windows, against a database filled with the demo year (so that summaries and
listings print real rows) and with names that CP932 cannot write (—, ≥).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from pilots.cli import cli
from tests.conftest import ROOT, SAMPLES

DEMO = ROOT / "data" / "demo"
REPORT_DATA = ROOT / "tests" / "data" / "report"


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_leaves(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


def _groups(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_groups(command, (*prefix, name)))
    return found


def _run(
    args: list[str], cwd: Path, env: dict[str, str], *, stdin: str = "", timeout: float = 300
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pilots", *args],
        cwd=cwd,
        env=env,
        input=stdin.encode("cp932"),
        capture_output=True,
        timeout=timeout,
    )


def _cp932_env(tmp_path: Path, model_dir: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONIOENCODING="cp932", PILOTS_MODEL_DIR=str(model_dir))
    env["PILOTS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'pilots.db'}"
    env["PILOTS_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.mark.parametrize("command", _groups(cli) + _leaves(cli), ids=" ".join)
def test_every_help_survives_a_cp932_stream(command: tuple[str, ...], tmp_path: Path) -> None:
    out = _run([*command, "--help"], tmp_path, dict(os.environ, PYTHONIOENCODING="cp932"))
    assert out.returncode == 0, out.stderr.decode("cp932", "replace")
    assert out.stderr == b""
    text = out.stdout.decode("cp932")
    assert text.startswith("Usage: ")


def _inputs(tmp_path: Path) -> dict[str, Path]:
    """Inputs beside the demo year whose names CP932 cannot write."""
    files = {
        "usage": tmp_path / "利用報告—追加.csv",
        "survey": tmp_path / "満足度—追加.csv",
        "runs": tmp_path / "実行ログ—追加.csv",
    }
    files["usage"].write_text(
        "所属,会議日,録音時間(分),修正時間(分)\n"
        "情報政策課—分室,2019/06/03,60,90\n"
        "情報政策課—分室,2019/06/04,-5,10\n",
        encoding="utf-8",
    )
    files["survey"].write_text(
        "所属,満足度,ご意見\n情報政策課—分室,満足,精度≥90%ならもっと使う—ぜひ\n",
        encoding="utf-8",
    )
    files["runs"].write_text(
        "scenario,started_at,ended_at,status,cases\n"
        "月次—集計,2019-07-01 09:00:00,2019-07-01 09:05:00,success,3\n"
        "月次—集計,2019-07-02 09:00:00,2019-07-01 09:05:00,success,3\n",
        encoding="utf-8",
    )
    return files


def _serve(tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    """Start ``pilots serve`` until it says where it listens, then stop it like Ctrl-C."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pilots", "serve", "--port", str(port), "--no-worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while "待ち受けます".encode("cp932") not in seen and time.monotonic() < deadline:
        chunk = proc.stderr.read1(256)  # type: ignore[attr-defined]
        if not chunk:
            break
        seen += chunk
    while proc.poll() is None and time.monotonic() < deadline:
        try:  # stopped once it serves, not while it starts
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    if os.name == "nt":  # no Ctrl-C for another process's console: it ends at once
        proc.terminate()
        proc.communicate(timeout=60)
        return 0, seen.decode("cp932")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, (seen + err).decode("cp932")


def test_every_command_survives_a_cp932_stream(
    tmp_path: Path, model_dir: Path, sample_formats: dict[str, Path]
) -> None:
    env = _cp932_env(tmp_path, model_dir)
    files = _inputs(tmp_path)
    out_dir = tmp_path / "out"
    # (command, its arguments, what its output must show); in this order, on one database.
    runs: list[tuple[tuple[str, ...], list[str], str]] = [
        (("init",), [], "スキーマを更新しました"),
        (("settings",), [], "PILOTS_DATA_DIR"),
        (("settings",), ["--markdown"], "PILOTS_DATA_DIR"),
        (("org", "import"), [str(DEMO / "departments.csv")], "追加"),
        (("org", "list"), [], "所属コード"),
        (("asr", "baseline"), [str(DEMO / "asr_baselines.xlsx")], "追加"),
        (("asr", "import"), [str(DEMO / "asr_usage_2019_first_half.csv")], "追加"),
        (("asr", "import"), [str(files["usage"])], "情報政策課―分室"),
        (("asr", "correction"), ["1", "30"], "1"),
        (("asr", "jobs"), [], "情報政策課―分室"),
        (("asr", "summary"), ["--fy", "2019", "--period", "final"], "情報政策課―分室"),
        (("asr", "accuracy"), ["--fy", "2019", "--period", "final", "--by", "model"], "認識精度"),
        (("asr", "models"), [], "base"),
        (("asr", "purge"), ["--older-than", "0"], "を削除しました"),
        (("asr", "rules", "list"), [], "新しい提案"),
        (
            ("asr", "transcribe"),
            [str(sample_formats["wav"]), "-o", str(out_dir), "--format", "txt", "--progress"],
            "meeting.txt",
        ),
        (("survey", "import"), [str(DEMO / "survey_forms.xlsx")], "追加"),
        (("survey", "import"), [str(files["survey"]), "--survey", "追加—調査"], "追加"),
        (("survey", "summary"), ["--survey", "追加—調査"], "精度≧90%ならもっと使う―ぜひ"),
        (("survey", "delete"), ["追加—調査", "--yes"], "調査「追加―調査」を削除しました"),
        (("rpa", "catalog"), [str(DEMO / "rpa_catalog.xlsx")], "追加"),
        (("rpa", "tasks"), [], "業務ID"),
        (
            ("rpa", "ingest"),
            [str(DEMO / "wmc_tasks.csv"), str(DEMO / "uipath_jobs.csv"), str(files["runs"])],
            "読めない行 1",
        ),
        (("rpa", "rejects"), [], "実行ログ―追加.csv"),
        (("rpa", "unmatched"), [], "月次―集計"),
        (("rpa", "summary"), ["--fy", "2019", "--period", "final"], "削減時間"),
        (("rpa", "candidates"), [str(DEMO / "rpa_work_survey.csv")], "業務"),
        (
            ("rpa", "candidates"),
            ["--select", "C01", "C02", "C03", "--fy", "2019", "--date", "2020-02-20"],
            "3所属3業務",
        ),
        (("rpa", "issues"), ["--fy", "2019"], "要点検"),
        (("rpa", "issue", "import"), [str(DEMO / "rpa_issues.csv")], "追加 5"),
        (
            ("rpa", "issue", "add"),
            ["--title", "端末—再起動", "--found", "2019-09-10", "--terminal", "WA-PC03"],
            "課題 No.6 を登録しました",
        ),
        (("rpa", "issue", "update"), ["6", "--state", "対応中"], "課題 No.6 を更新しました"),
        (("rpa", "issue", "list"), ["--fy", "2019"], "端末―再起動"),
        (("plan", "import"), [str(REPORT_DATA / "plan.yaml")], "版 1"),
        (("plan", "list"), [], "テスト用の効果測定報告"),
        (("plan", "export"), ["--fy", "2019"], "fiscal_year: 2019"),
        (
            ("report",),
            ["--fy", "2019", "--period", "final", "--plan", str(REPORT_DATA / "plan.yaml")],
            "report_fy2019_final",
        ),
        (
            ("demo",),
            ["--no-transcribe", "--data", str(DEMO), "--samples", str(SAMPLES)],
            "最終レポート",
        ),
        (
            ("users", "add"),
            ["sato", "--role", "clerk", "--dept", "情報政策課—分室", "--password-stdin"],
            "登録しました",
        ),
        (("users", "list"), [], "情報政策課―分室"),
        (("users", "remove"), ["sato"], "削除しました"),
        (("worker",), ["--once"], "作業プロセス"),
    ]
    problems = []
    for command, args, expected in runs:
        stdin = "pass-word-123\n" if command == ("users", "add") else ""
        out = _run([*command, *args], tmp_path, env, stdin=stdin)
        shown = out.stdout.decode("cp932") + out.stderr.decode("cp932")
        if out.returncode != 0 or expected not in shown or "予期しないエラー" in shown:
            problems.append(f"pilots {' '.join(command)} → {out.returncode}:\n{shown}")
    code, shown = _serve(tmp_path, env)
    if code not in (0, 130) or "待ち受けます" not in shown:
        problems.append(f"pilots serve → {code}:\n{shown}")
    # An error line naming a file whose name CP932 lacks is one line, not a crash.
    missing = _run(["org", "import", str(tmp_path / "所属—なし.csv")], tmp_path, env)
    if missing.stderr.decode("cp932").splitlines() != [
        f"エラー: {tmp_path / '所属―なし.csv'}: ファイルがありません"
    ]:
        problems.append(f"missing file → {missing.stderr.decode('cp932')}")
    # No rule is proposed on this database: deciding one is one error line, in CP932.
    for decision in ("approve", "reject"):
        refused = _run(["asr", "rules", decision, "1"], tmp_path, env)
        if refused.returncode == 0 or refused.stderr.decode("cp932").splitlines() != [
            "エラー: ルール #1 はありません（pilots asr rules list で一覧を表示します）"
        ]:
            problems.append(f"rules {decision} → {refused.stderr.decode('cp932')}")
    assert not problems, "\n\n".join(problems)
    decisions = {("asr", "rules", "approve"), ("asr", "rules", "reject")}
    ran = {command for command, _, _ in runs} | {("serve",)} | decisions
    assert ran == set(_leaves(cli)), "run every command here (and its help above)"

"""``pilots serve``, ``pilots worker`` and ``pilots users``: the web UI, its workers, its users."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pilots.clikit import App, json_option, pass_app
from pilots.errors import ConfigError

concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(min=0),
    default=None,
    help="同時に文字起こしするジョブの数（それぞれ音声認識のプロセス1つ）。"
    "0 はCPUコア数と空きメモリから自動、既定は PILOTS_WORKER_CONCURRENCY。",
)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="待ち受けるアドレス。")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="待ち受けるポート。",
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="文字起こしの作業プロセスをサーバー内で動かしません（別に pilots worker を動かすとき）。",
)
@click.option(
    "--users",
    "users_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="利用者ファイル（既定は PILOTS_USERS_FILE、なければ <data_dir>/users.json）。",
)
@concurrency_option
@pass_app
def serve_command(
    app: App,
    host: str,
    port: int,
    no_worker: bool,
    users_path: Path | None,
    concurrency: int | None,
) -> None:
    """ブラウザで使う画面（議事録作成・RPA・満足度調査・効果測定レポート）を起動します。

    既定では 127.0.0.1（このPCだけ）で待ち受け、利用者登録なしで全ページを開けます。
    他のアドレスで待ち受けるには pilots users add で利用者を登録してください。
    そのときセッション鍵（<data_dir>/session.key、初回に作成）が所有者以外に読める場合や、
    公開された鍵の場合は起動しません。
    文字起こしはサーバー内の作業プロセスが行い、CPUコアの数だけ同時に処理します
    （--concurrency。--no-worker で止め、pilots worker を別のPCで動かせます）。
    """
    import logging

    from pilots.web import auth
    from pilots.web.app import create_app
    from pilots.web.auth import users_file
    from pilots.web.context import WebConfig

    try:
        import uvicorn
    except ImportError:
        raise ConfigError("serve", "Web画面の部品がありません: pip install 'pilots[web]'") from None
    path = users_file(app.settings, users_path)
    store = auth.UserStore(path)
    auth.check_can_serve(host, store)
    auth.check_secret_key(auth.session_key_file(app.settings), host)
    app.open()  # the default data folder is made, a mistyped --db refused, a new database told
    at_once = 1 if no_worker else _concurrency(app, concurrency)
    web = create_app(
        WebConfig(
            settings=app.settings,
            db_url=app.db_url,
            users_file=path,
            require_users=not auth.is_loopback(host),
            start_worker=not no_worker,
            worker_concurrency=at_once,
        )
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    shown = f"[{host}]" if ":" in host else host
    mode = "利用者ファイル " + str(path) if store.has_users() else "利用者登録なし（このPCだけ）"
    worker = "作業プロセスなし" if no_worker else f"作業プロセス1つ（同時に{at_once}件まで）"
    click.echo(
        f"http://{shown}:{port}/ で待ち受けます（{mode}、{worker}、Ctrl-C で終了）", err=True
    )
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)


@click.command("worker")
@click.option("--once", is_flag=True, help="待ち行列が空になったら終了します。")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="待ち行列が空のとき、次に見に行くまでの秒数。",
)
@concurrency_option
@pass_app
def worker_command(app: App, once: bool, poll: float, concurrency: int | None) -> None:
    """文字起こしの待ち行列からジョブを取り出して処理します（何台でも同時に動かせます）。

    PostgreSQL を共有すれば、複数のPCの作業プロセスが同じ待ち行列を分担します。
    録音と議事録案はデータベースを通して受け渡すので、共有フォルダは要りません。
    既定ではCPUコアの数だけジョブを同時に処理します（--concurrency）。
    """
    import signal
    import threading

    from pilots.web.worker import Worker

    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    from pilots import db

    worker = Worker(
        db.session_factory(app.engine),
        app.settings,
        poll=poll,
        stop=stop,
        log=lambda line: click.echo(line, err=False),
        concurrency=_concurrency(app, concurrency),
    )
    click.echo(
        f"作業プロセス {worker.name} を開始します"
        f"（{db.describe(app.engine)}、同時に{worker.concurrency}件まで）",
        err=True,
    )
    try:
        done = worker.run(once=once)
    except KeyboardInterrupt:
        stop.set()
        done = 0
    click.echo(f"作業プロセス {worker.name} を終了します（処理 {done}件）", err=True)


def _concurrency(app: App, given: int | None) -> int:
    """--concurrency, else the setting; 0 is one job per CPU core, as far as memory allows."""
    from pilots.asr.parallel import default_processes

    wanted: int = app.settings.get("worker_concurrency") if given is None else given
    return wanted or default_processes()


@click.group("users")
def users_group() -> None:
    """Web画面の利用者（役割: clerk, rpa, evaluator, admin）の登録と一覧。"""


users_option = click.option(
    "--users",
    "users_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="利用者ファイル（既定は PILOTS_USERS_FILE、なければ <data_dir>/users.json）。",
)


@users_group.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["clerk", "rpa", "evaluator", "admin"]),
    required=True,
    help="役割: clerk（議事録作成）、rpa（RPA）、evaluator（満足度調査・レポート）、"
    "admin（すべて）。",
)
@click.option("--dept", default="", help="所属（clerk の議事録作成ページで使います）。")
@click.option("--password-stdin", is_flag=True, help="パスワードを標準入力の1行目から読みます。")
@users_option
@pass_app
def users_add_command(
    app: App, name: str, role: str, dept: str, password_stdin: bool, users_path: Path | None
) -> None:
    """利用者を登録します（同じ名前なら、パスワード・役割・所属を置き換えます）。"""
    from pilots.web.auth import UserStore, check_name, users_file

    check_name(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "パスワード", hide_input=True, confirmation_prompt="確認のためもう一度"
        )
    store = UserStore(users_file(app.settings, users_path))
    created = store.add(name, role, password, dept)
    click.echo(f"{'登録しました' if created else '更新しました'}: {name}（{role}）→ {store.path}")


@users_group.command("list")
@json_option
@users_option
@pass_app
def users_list_command(app: App, as_json: bool, users_path: Path | None) -> None:
    """登録された利用者の一覧（パスワードは表示しません）。"""
    from pilots.output import format_table, to_json
    from pilots.web.auth import UserStore, users_file

    store = UserStore(users_file(app.settings, users_path))
    users = store.users()
    if as_json:
        click.echo(to_json(users))
        return
    if not users:
        click.echo(f"利用者は登録されていません（{store.path}）")
        return
    click.echo(
        format_table(["利用者", "役割", "所属"], [(u.name, u.role, u.department) for u in users])
    )


@users_group.command("remove")
@click.argument("name")
@users_option
@pass_app
def users_remove_command(app: App, name: str, users_path: Path | None) -> None:
    """利用者を削除します。"""
    from pilots.errors import NotFoundError
    from pilots.web.auth import UserStore, users_file

    store = UserStore(users_file(app.settings, users_path))
    if not store.remove(name):
        raise NotFoundError(f"利用者 {name} は登録されていません（{store.path}）")
    click.echo(f"削除しました: {name}")

"""The web app through Starlette's TestClient: pages, users and roles, CSRF, uploads, escaping."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import date, timedelta
from json import loads as json_loads
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from pilots import db
from pilots.cli import cli
from pilots.config import Settings
from pilots.errors import InputFileError
from pilots.tables import AsrJob, RpaIssue, WebJob, WebUpload
from pilots.web import auth, queue
from pilots.web.app import create_app
from pilots.web.context import WebConfig
from tests.conftest import DATA, drafted_transcript
from tests.test_web_queue import cut_clip

PAGES = ("/minutes", "/rpa", "/survey", "/report")


class Web:
    """A test client on a fresh app, with helpers for the CSRF token and uploads."""

    def __init__(self, client: TestClient, data_dir: Path, db_url: str) -> None:
        self.client = client
        self.data_dir = data_dir
        self.db_url = db_url

    def token(self, path: str = "/") -> str:
        page = self.client.get(path)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def login(self, name: str, password: str) -> None:
        response = self.client.post(
            "/login",
            data={"username": name, "password": password, "csrf_token": self.token("/login")},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        files: list[tuple[str, tuple[str, bytes]]] | None = None,
        *,
        token_from: str | None = None,
    ) -> object:
        form = {"csrf_token": self.token(token_from or "/"), **(data or {})}
        return self.client.post(path, data=form, files=files or [], follow_redirects=True)

    def session(self) -> object:
        engine = db.make_engine(self.db_url)
        return engine, db.session_factory(engine)


def _make(
    tmp_path: Path,
    db_url: str,
    *,
    require_users: bool = False,
    address: str = "testclient",
    **env: str,
) -> TestClient:
    data_dir = tmp_path / "data"
    # No delay after a failed login unless a test asks for one: it only slows the tests.
    settings = Settings(
        {"PILOTS_DATA_DIR": str(data_dir), "PILOTS_LOGIN_DELAY_SECONDS": "0", **env}
    )
    config = WebConfig(
        settings=settings,
        db_url=db_url,
        users_file=data_dir / "users.json",
        require_users=require_users,
    )
    return TestClient(create_app(config), client=(address, 50000))


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[Web]:
    with _make(tmp_path, db_url) as client:
        yield Web(client, tmp_path / "data", db_url)


@pytest.fixture
def users(tmp_path: Path) -> auth.UserStore:
    store = auth.UserStore(tmp_path / "data" / "users.json")
    store.add("clerk1", "clerk", "clerk-pass-1", "総務課")
    store.add("rpa1", "rpa", "rpa-pass-12")
    store.add("eval1", "evaluator", "eval-pass-1")
    store.add("admin1", "admin", "admin-pass-1")
    return store


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return cut_clip(tmp_path_factory.mktemp("clip") / "clip.wav", 6.0, 2.0).read_bytes()


def _count(web: Web, model: type) -> int:
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        n = session.scalar(select(func.count()).select_from(model))
    engine.dispose()
    return int(n or 0)


# --- pages and single-user mode ----------------------------------------------------


def test_single_user_mode_opens_every_page(web: Web) -> None:
    home = web.client.get("/")
    assert home.status_code == 200
    for path in PAGES:
        page = web.client.get(path)
        assert page.status_code == 200, path
        assert '<html lang="ja">' in page.text
        assert 'href="/static/style.css"' in page.text  # served by the app, no CDN
        assert "https://" not in page.text and "http://" not in page.text
    for label in ("議事録作成", "RPA", "満足度調査", "効果測定レポート"):
        assert label in home.text
    assert web.client.get("/static/style.css").status_code == 200
    assert web.client.get("/static/app.js").status_code == 200


def test_security_headers(web: Web) -> None:
    page = web.client.get("/minutes")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "httponly" in page.headers["set-cookie"].lower()
    assert "samesite=strict" in page.headers["set-cookie"].lower()


def test_every_input_has_a_label(web: Web) -> None:
    for path in PAGES:
        text = web.client.get(path).text
        ids = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', text)
        inputs = re.findall(r"<(?:input|select)(?![^>]*type=\"hidden\")[^>]*>", text)
        assert len(ids) == len(inputs), path
        for ident in ids:
            assert f'for="{ident}"' in text, (path, ident)


# --- users and roles ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "password", "allowed"),
    [
        ("clerk1", "clerk-pass-1", {"/minutes"}),
        ("rpa1", "rpa-pass-12", {"/rpa"}),
        ("eval1", "eval-pass-1", {"/survey", "/report"}),
        ("admin1", "admin-pass-1", set(PAGES)),
    ],
)
def test_each_page_opens_to_its_roles(
    web: Web, users: auth.UserStore, name: str, password: str, allowed: set[str]
) -> None:
    for path in PAGES:
        response = web.client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    web.login(name, password)
    for path in PAGES:
        expected = 200 if path in allowed else 403
        assert web.client.get(path).status_code == expected, (name, path)
    nav = web.client.get("/").text
    for path in PAGES:
        assert (f'href="{path}"' in nav) == (path in allowed)


def test_wrong_password_and_unknown_user_are_refused(web: Web, users: auth.UserStore) -> None:
    for name, password in (("clerk1", "wrong-password"), ("nobody", "clerk-pass-1")):
        response = web.client.post(
            "/login",
            data={"username": name, "password": password, "csrf_token": web.token("/login")},
        )
        assert response.status_code == 401
        assert "利用者名またはパスワードが違います" in response.text
    assert web.client.get("/minutes", follow_redirects=False).status_code == 303


def test_login_redirects_only_within_the_site(web: Web, users: auth.UserStore) -> None:
    response = web.client.post(
        "/login?next=//evil.example/",
        data={"username": "admin1", "password": "admin-pass-1", "csrf_token": web.token("/login")},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_logout_ends_the_session(web: Web, users: auth.UserStore) -> None:
    web.login("admin1", "admin-pass-1")
    assert web.client.get("/rpa").status_code == 200
    web.post("/logout", token_from="/")
    assert web.client.get("/rpa", follow_redirects=False).status_code == 303


def test_a_tampered_session_cookie_is_ignored(web: Web, users: auth.UserStore) -> None:
    web.login("clerk1", "clerk-pass-1")
    cookie = web.client.cookies["pilots_session"]
    _body, mac = cookie.rsplit(".", 1)
    forged = auth._b64(b'{"u": "admin1", "csrf": "x", "iat": 9999999999}')
    web.client.cookies.clear()
    web.client.cookies.set("pilots_session", forged + "." + mac)
    assert web.client.get("/rpa", follow_redirects=False).status_code == 303


def test_public_server_without_users_refuses_requests(tmp_path: Path, db_url: str) -> None:
    with _make(tmp_path, db_url, require_users=True) as client:
        assert client.get("/minutes").status_code == 503


def test_serve_on_another_address_needs_users(tmp_path: Path) -> None:
    env = {"PILOTS_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'p.db'}", "serve", "--host", "0.0.0.0"], env=env
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("エラー: 0.0.0.0 で待ち受けるには利用者の登録")


# The key that data/session.key held while it was committed to the repository.
LEAKED_KEY = "d62cb62bbcba9b89bc3cebdd55c9b82e7f697c221d54bb60687343d1c9c3c131\n"


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """Stands in for uvicorn.run, so that a ``pilots serve`` that passes its checks returns
    instead of listening on 0.0.0.0 until it is killed (the checks run before it)."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    return calls


def _serve_public(tmp_path: Path) -> object:
    env = {"PILOTS_DATA_DIR": str(tmp_path / "data")}
    return CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'p.db'}", "serve", "--host", "0.0.0.0"], env=env
    )


def test_the_session_key_is_not_in_the_repository() -> None:
    import subprocess

    from tests.conftest import ROOT

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "--", "*.key", "*users.json", "data/*"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert [p for p in tracked if p.endswith((".key", "users.json"))] == []
    ignored = subprocess.run(
        ["git", "check-ignore", "data/session.key", "data/users.json"],
        cwd=ROOT, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert ignored == ["data/session.key", "data/users.json"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_serve_makes_a_private_key_on_first_start(
    tmp_path: Path, users: auth.UserStore, uvicorn_calls: list[dict[str, object]]
) -> None:
    result = _serve_public(tmp_path)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert uvicorn_calls and uvicorn_calls[0]["host"] == "0.0.0.0"
    key_file = tmp_path / "data" / "session.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(key_file.read_text())) == 32


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_serve_refuses_a_key_others_can_read(
    tmp_path: Path, users: auth.UserStore, uvicorn_calls: list[dict[str, object]]
) -> None:
    key_file = tmp_path / "data" / "session.key"
    key_file.write_text(os.urandom(32).hex() + "\n")
    key_file.chmod(0o644)
    result = _serve_public(tmp_path)
    assert result.exit_code == 1 and uvicorn_calls == []  # type: ignore[attr-defined]
    assert result.stderr.strip().splitlines() == [  # type: ignore[attr-defined]
        f"エラー: {key_file}: セッション鍵を所有者以外も読み書きできます。"
        f"chmod 600 {key_file} で所有者だけにしてください"
    ]


def test_serve_refuses_the_key_that_was_published(
    tmp_path: Path, users: auth.UserStore, uvicorn_calls: list[dict[str, object]]
) -> None:
    key_file = tmp_path / "data" / "session.key"
    key_file.write_text(LEAKED_KEY)
    key_file.chmod(0o600)
    result = _serve_public(tmp_path)
    assert result.exit_code == 1 and uvicorn_calls == []  # type: ignore[attr-defined]
    (line,) = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert line.startswith(f"エラー: {key_file}: このセッション鍵は公開されています")
    # On this computer only (127.0.0.1) nobody else can send it a cookie: it starts.
    local = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'p.db'}", "serve"],
        env={"PILOTS_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert local.exit_code == 0 and len(uvicorn_calls) == 1


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    key_file = tmp_path / "session.key"
    key_file.write_text("not a key\n")
    with pytest.raises(InputFileError, match="セッション鍵の形式が正しくありません"):
        auth.secret_key(key_file)


def _login_form(client: TestClient, name: str, password: str) -> httpx.Response:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    return client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def test_repeated_wrong_passwords_lock_the_user_name(
    web: Web, users: auth.UserStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="pilots")
    for n in range(1, 5):
        wrong = _login_form(web.client, "clerk1", f"guess-{n}")
        assert wrong.status_code == 401
        assert f"あと{5 - n}回失敗すると、15分間ログインできなくなります" in wrong.text
    fifth = _login_form(web.client, "clerk1", "guess-5")
    assert fifth.status_code == 429
    assert "失敗が続いたため、15分間ログインできません" in fifth.text
    # The right password no longer works while the name is locked …
    right = _login_form(web.client, "clerk1", "clerk-pass-1")
    assert right.status_code == 429
    assert "この利用者名はログインの失敗が続いたため" in right.text
    assert web.client.get("/minutes", follow_redirects=False).status_code == 303
    # … every failure is logged with the name and the address …
    failures = [
        r.getMessage() for r in caplog.records if "ログインに失敗しました" in r.getMessage()
    ]
    assert len(failures) == 5 and "'clerk1'" in failures[0] and "testclient" in failures[0]
    # … and other users on other computers are not locked out (this address is, too).
    assert _login_form(web.client, "admin1", "admin-pass-1").status_code == 429
    other = TestClient(web.client.app, client=("192.0.2.20", 50000))
    assert _login_form(other, "admin1", "admin-pass-1").status_code == 303


def test_the_lock_is_shared_by_server_processes_and_survives_a_restart(
    tmp_path: Path, db_url: str, users: auth.UserStore
) -> None:
    from pilots.tables import LoginFailure

    # Two server processes on one database (two apps here), from two addresses.
    with (
        _make(tmp_path, db_url, address="10.0.0.1") as first,
        _make(tmp_path, db_url, address="10.0.0.2") as second,
    ):
        for n in range(5):
            client = first if n % 2 else second
            _login_form(client, "eval1", f"wrong-{n}")
        assert _login_form(first, "eval1", "eval-pass-1").status_code == 429
    # Restarted: still locked.
    with _make(tmp_path, db_url, address="10.0.0.3") as restarted:
        assert _login_form(restarted, "eval1", "eval-pass-1").status_code == 429
        # The lock ends once its failures are older than login_lock_minutes.
        engine = db.make_engine(db_url)
        with db.session_scope(db.session_factory(engine)) as session:
            session.execute(
                update(LoginFailure).values(
                    failed_at=LoginFailure.failed_at - timedelta(minutes=16)
                )
            )
        engine.dispose()
        assert _login_form(restarted, "eval1", "eval-pass-1").status_code == 303


def test_many_names_from_one_address_lock_the_address(
    tmp_path: Path, db_url: str, users: auth.UserStore
) -> None:
    with (
        _make(tmp_path, db_url, address="192.0.2.7") as attacker,
        _make(tmp_path, db_url, address="192.0.2.8") as colleague,
    ):
        for name in ("a", "b", "c", "d", "e"):
            _login_form(attacker, name, "password1")
        refused = _login_form(attacker, "admin1", "admin-pass-1")
        assert refused.status_code == 429
        assert "この端末からのログインの失敗が続いたため" in refused.text
        assert _login_form(colleague, "admin1", "admin-pass-1").status_code == 303


def test_each_failed_login_is_answered_more_slowly(
    tmp_path: Path, db_url: str, users: auth.UserStore
) -> None:
    with _make(tmp_path, db_url, PILOTS_LOGIN_DELAY_SECONDS="0.4") as client:
        took = []
        for n in range(3):
            started = time.monotonic()
            _login_form(client, "rpa1", f"wrong-{n}")
            took.append(time.monotonic() - started)
    assert took[0] >= 0.4 and took[1] >= 0.8 and took[2] >= 1.2, took


def test_users_commands(tmp_path: Path) -> None:
    env = {"PILOTS_DATA_DIR": str(tmp_path / "data")}
    base = ["--db", f"sqlite:///{tmp_path / 'p.db'}", "users"]
    runner = CliRunner()
    added = runner.invoke(
        cli, [*base, "add", "sato", "--role", "clerk", "--dept", "総務課", "--password-stdin"],
        input="secret-pass\n", env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    text = (tmp_path / "data" / "users.json").read_text(encoding="utf-8")
    assert "secret-pass" not in text and "scrypt$" in text
    assert (tmp_path / "data" / "users.json").stat().st_mode & 0o077 == 0
    listing = runner.invoke(cli, [*base, "list"], env=env)
    assert "sato" in listing.output and "clerk" in listing.output and "総務課" in listing.output
    short = runner.invoke(
        cli, [*base, "add", "kato", "--role", "rpa", "--password-stdin"], input="short\n", env=env
    )
    assert short.exit_code == 1 and "8文字以上" in short.stderr
    bad = runner.invoke(
        cli, [*base, "add", "../x", "--role", "rpa", "--password-stdin"], input="x" * 9, env=env
    )
    assert bad.exit_code == 1
    assert runner.invoke(cli, [*base, "remove", "sato"], env=env).exit_code == 0
    assert runner.invoke(cli, [*base, "remove", "sato"], env=env).exit_code == 1
    assert (
        auth.UserStore(tmp_path / "data" / "users.json").authenticate("sato", "secret-pass") is None
    )


def test_the_rules_page_is_an_admins_only(web: Web, users: auth.UserStore) -> None:
    web.login("clerk1", "clerk-pass-1")
    assert web.client.get("/minutes/rules").status_code == 403
    assert "/minutes/rules" not in web.client.get("/minutes").text  # no link to it either
    web.login("admin1", "admin-pass-1")
    page = web.client.get("/minutes/rules")
    assert page.status_code == 200 and "置換ルールはまだありません" in page.text
    assert 'href="/minutes/rules"' in web.client.get("/minutes").text


def test_password_hashes() -> None:
    stored = auth.hash_password("パスワード123")
    assert auth.verify_password("パスワード123", stored)
    assert not auth.verify_password("パスワード124", stored)
    assert auth.hash_password("パスワード123") != stored  # salted
    assert not auth.verify_password("x", "garbage")


# --- CSRF -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/minutes", "/minutes/rules/1", "/rpa/runs", "/rpa/catalog", "/survey", "/logout"]
)
def test_posts_without_the_csrf_token_are_refused(web: Web, path: str) -> None:
    web.client.get("/")
    files = [("file", ("a.csv", b"a,b\n1,2\n"))]
    missing = web.client.post(path, files=files)
    assert missing.status_code == 403
    wrong = web.client.post(path, data={"csrf_token": "forged"}, files=files)
    assert wrong.status_code == 403
    assert _count(web, WebUpload) == 0


def test_a_form_posted_from_another_site_is_refused(web: Web, clip: bytes) -> None:
    token = web.token("/minutes")
    response = web.client.post(
        "/minutes",
        data={"csrf_token": token},
        files=[("audio", ("m.wav", clip))],
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert _count(web, WebJob) == 0


def test_the_csrf_token_of_another_session_does_not_work(web: Web, tmp_path: Path) -> None:
    other = TestClient(web.client.app)
    page = other.get("/minutes").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    web.client.get("/")
    response = web.client.post("/minutes", data={"csrf_token": token.group(1)})
    assert response.status_code == 403


# --- uploads: size, content, names ------------------------------------------------------------


def test_recordings_are_queued_not_transcribed(web: Web, clip: bytes) -> None:
    page = web.post(
        "/minutes",
        {"department": "総務課", "title": "定例会議", "date": "2019-07-10"},
        [("audio", ("0710定例.wav", clip)), ("audio", ("0711.wav", clip[:-10]))],
    )
    assert page.status_code == 200  # type: ignore[attr-defined]
    text = page.text  # type: ignore[attr-defined]
    assert "0710定例.wav: 受け付けました（ジョブ #" in text
    assert "待機中" in text
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        jobs = list(session.scalars(select(WebJob).order_by(WebJob.id)))
        assert [(j.state, j.department, j.title, j.meeting_date) for j in jobs] == [
            ("queued", "総務課", "定例会議", date(2019, 7, 10))
        ] * 2
        assert b"".join(queue.audio_chunks(session, jobs[0].id)) == clip
        uploads = list(session.scalars(select(WebUpload)))
        assert {u.original_name for u in uploads} == {"0710定例.wav", "0711.wav"}
        for u in uploads:
            assert re.fullmatch(r"[0-9a-f]{32}\.audio", u.stored_name)
            assert (web.data_dir / "uploads" / u.stored_name).is_file()
    engine.dispose()


def test_a_text_file_named_wav_is_refused(web: Web) -> None:
    page = web.post(
        "/minutes", {}, [("audio", ("会議.wav", "これは録音ではありません\n".encode()))]
    )
    assert "会議.wav: ファイルの中身が 録音（音声ファイル） ではありません" in page.text  # type: ignore[attr-defined]
    assert _count(web, WebJob) == 0
    assert list((web.data_dir / "uploads").iterdir()) == []


def test_a_binary_file_named_csv_is_refused(web: Web) -> None:
    page = web.post("/rpa/runs", {"format": "auto"}, [("file", ("log.csv", bytes(range(256)) * 4))])
    assert page.status_code == 400  # type: ignore[attr-defined]
    assert "log.csv: ファイルの中身が CSV・Excel（xlsx） ではありません" in page.text  # type: ignore[attr-defined]


def test_the_size_limit(tmp_path: Path, db_url: str, clip: bytes) -> None:
    with _make(tmp_path, db_url, PILOTS_UPLOAD_LIMIT_MB="0.05") as client:
        web = Web(client, tmp_path / "data", db_url)
        # Over the limit, but inside the room left for the form: refused by the upload check.
        big = clip + bytes(60 * 1024)
        page = web.post("/minutes", {}, [("audio", ("big.wav", big))])
        assert "big.wav: ファイルが大きすぎます（上限 0.05 MB）" in page.text  # type: ignore[attr-defined]
        # Far over: the request itself is refused before it is read.
        huge = client.post(
            "/minutes",
            data={"csrf_token": web.token("/minutes")},
            files=[("audio", ("huge.wav", bytes(3 * 1024 * 1024)))],
        )
        assert huge.status_code == 413
        assert "ファイルが大きすぎます" in huge.text
        assert _count(web, WebJob) == 0
        assert list((tmp_path / "data" / "uploads").iterdir()) == []


def test_no_path_from_a_request_reaches_the_file_system(web: Web, clip: bytes) -> None:
    web.post("/minutes", {}, [("audio", ("../../../../tmp/evil.wav", clip))])
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        (upload,) = session.scalars(select(WebUpload))
        (job,) = session.scalars(select(WebJob))
    engine.dispose()
    assert upload.original_name == job.original_name == "evil.wav"
    assert not Path("/tmp/evil.wav").exists()
    assert [p.name for p in (web.data_dir / "uploads").iterdir()] == [upload.stored_name]
    for path in (
        f"/minutes/jobs/{job.id}/download/..%2F..%2Fusers.json",
        f"/minutes/jobs/{job.id}/download/exe",
        "/static/..%2F..%2Fapp.py",
        "/static/../app.py",
        "/rpa/..%2Fcatalog",
    ):
        assert web.client.get(path).status_code == 404, path
    assert web.client.post("/rpa/..%2F..%2Fx", data={}).status_code in (403, 404)


def test_uploaded_names_and_comments_are_escaped(web: Web, clip: bytes) -> None:
    evil = '<img src=x onerror="alert(1)">.wav'
    page = web.post("/minutes", {"title": "<b>会議</b>", "department": "<i>課</i>"},
                    [("audio", (evil, clip))])  # fmt: skip
    text = page.text  # type: ignore[attr-defined]
    assert "<img src=x" not in text and "&lt;img src=x onerror=" in text
    assert "<b>会議</b>" not in text and "&lt;b&gt;会議&lt;/b&gt;" in text
    survey = web.post(
        "/survey", {}, [("file", ("survey.csv", (DATA / "report/survey.csv").read_bytes()))]
    )
    text = survey.text  # type: ignore[attr-defined]
    assert survey.status_code == 200, text  # type: ignore[attr-defined]
    assert "<script>" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert "<b>人事課</b>" not in text


# --- 議事録作成: downloads and correction time ----------------------------------------------


def _queued(web: Web, name: str, clip: bytes) -> int:
    """Upload a recording of 総務課 on the 議事録作成 page; the number of its queue job."""
    web.post("/minutes", {"department": "総務課"}, [("audio", (name, clip))])
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        job_id = session.scalar(select(WebJob.id).where(WebJob.original_name == name))
    engine.dispose()
    assert job_id is not None
    return job_id


def test_the_speakers_chosen_on_the_form_go_with_the_job(web: Web, clip: bytes) -> None:
    page = web.client.get("/minutes").text
    assert '<select id="speakers" name="speakers"' in page
    assert '<option value="auto" selected>' in page  # told apart by default
    web.post("/minutes", {"speakers": "3"}, [("audio", ("三人.wav", clip))])
    web.post("/minutes", {"speakers": "off"}, [("audio", ("なし.wav", clip[:-2]))])
    web.post("/minutes", {}, [("audio", ("既定.wav", clip[:-4]))])
    refused = web.post("/minutes", {"speakers": "99"}, [("audio", ("x.wav", clip))])
    assert refused.status_code == 400  # type: ignore[attr-defined]
    said = "話者の区別: 自動、区別しない、または人数を選んでください"
    assert said in refused.text  # type: ignore[attr-defined]
    # Refused for another field: the choice stays as made.
    kept = web.post("/minutes", {"speakers": "3", "date": "昨日"}, [("audio", ("y.wav", clip))])
    assert '<option value="3" selected>3人</option>' in kept.text  # type: ignore[attr-defined]
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        chosen = {j.original_name: j.speakers for j in session.scalars(select(WebJob))}
    engine.dispose()
    assert chosen == {"三人.wav": "3", "なし.wav": "off", "既定.wav": "auto"}


def _finish_job(web: Web, job_id: int) -> int:
    """Complete a queued job as a worker would (with a job log entry and drafts)."""
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        claim = queue.claim(session, "test")
        assert claim is not None and claim.job_id == job_id
        asr = AsrJob(source="pilots", title="定例", meeting_date=date(2019, 7, 10),
                     audio_seconds=3600.0, outputs="[]")  # fmt: skip
        session.add(asr)
        session.flush()
        assert queue.complete(
            session, claim, {"docx": b"PK-docx", "txt": "本文\n".encode()}, asr.id
        )
        asr_id = asr.id
    engine.dispose()
    return asr_id


def test_download_and_correction_time(web: Web, clip: bytes) -> None:
    job_id = _queued(web, "7月定例.wav", clip)
    assert web.client.get(f"/minutes/jobs/{job_id}/download/docx").status_code == 404
    status = web.client.get(f"/minutes/status?ids={job_id}").json()
    assert status == {
        "jobs": [{"id": job_id, "state": "queued", "label": "待機中", "progress": 0.0}]
    }
    asr_id = _finish_job(web, job_id)
    page = web.client.get("/minutes").text
    assert f'href="/minutes/jobs/{job_id}/download/docx"' in page
    download = web.client.get(f"/minutes/jobs/{job_id}/download/docx")
    assert download.status_code == 200 and download.content == b"PK-docx"
    assert (
        "filename*=UTF-8''7%E6%9C%88%E5%AE%9A%E4%BE%8B.docx"
        in download.headers["content-disposition"]
    )
    assert web.client.get(f"/minutes/jobs/{job_id}/download/txt").text == "本文\n"
    done = web.post(f"/minutes/jobs/{job_id}/correction", {"minutes": "35"}, token_from="/minutes")
    assert f"ジョブ #{job_id}: 修正時間 35分を記録しました" in done.text  # type: ignore[attr-defined]
    # The recording is 60 minutes: at most 600 minutes (asr.max_correction_ratio 10).
    for typed, said in (
        ("-3", "修正時間: 0以上の分数にしてください: -3"),
        ("1e308", "修正時間: 1e+308分は録音の長さ（60分）の10倍（600分）を超えています"),
        ("3500", "修正時間: 3,500分は録音の長さ（60分）の10倍（600分）を超えています"),
        ("inf", "修正時間: 数値ではありません: inf"),
        ("nan", "修正時間: 数値ではありません: nan"),
        ("三十五", "修正時間は分数（例: 35）で入力してください: 三十五"),
    ):
        bad = web.post(
            f"/minutes/jobs/{job_id}/correction", {"minutes": typed}, token_from="/minutes"
        )
        assert f"ジョブ #{job_id}: {said}" in bad.text, typed  # type: ignore[attr-defined]
    bad = web.post(f"/minutes/jobs/{job_id}/correction", {"minutes": "-3"}, token_from="/minutes")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    assert f'id="corr-{job_id}" name="minutes"' in bad.text  # type: ignore[attr-defined]
    assert 'value="-3"' in bad.text  # type: ignore[attr-defined]  # what was typed, kept
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        asr = session.get(AsrJob, asr_id)
        assert asr is not None and asr.correction_minutes == 35
    engine.dispose()


def test_a_corrected_docx_sent_with_the_time_gives_the_accuracy(
    web: Web, clip: bytes, tmp_path: Path
) -> None:
    import json

    import docx

    from pilots.asr.minutes import segments_as_data, write_outputs

    job_id = _queued(web, "定例.wav", clip)
    asr_id = _finish_job(web, job_id)
    # The draft the worker kept with the job, and its Word file from the minutes writer.
    transcript = drafted_transcript(["LG1の接続について。", "フィキの会議を始めます。"])
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        asr = session.get(AsrJob, asr_id)
        assert asr is not None
        asr.draft_json = json.dumps(segments_as_data(transcript), ensure_ascii=False)
    engine.dispose()
    (draft,) = write_outputs(transcript, tmp_path, ["docx"])
    document = docx.Document(str(draft))
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            run.text = run.text.replace("LG1", "LGWAN").replace("フィキ", "府域")
    corrected = tmp_path / "修正後.docx"
    document.save(str(corrected))

    def send(minutes: str, name: str, data: bytes) -> object:
        return web.post(
            f"/minutes/jobs/{job_id}/correction",
            {"minutes": minutes},
            [("corrected", (name, data))],
            token_from="/minutes",
        )

    # A file that is no minutes, or an implausible time, is refused with one line; nothing stored.
    for minutes, name, data, said in (
        (
            "30",
            "写真.docx",
            b"\x89PNG\r\n",
            "修正後の議事録: 写真.docx: Word の文書（.docx）として読めません",
        ),
        ("30", "<x>.txt", b"", "修正後の議事録: &lt;x&gt;.txt: 空のファイルです"),
        ("nan", "修正後.docx", corrected.read_bytes(), "修正時間: 数値ではありません: nan"),
        (
            "6000",
            "修正後.docx",
            corrected.read_bytes(),
            "修正時間: 6,000分は録音の長さ（60分）の10倍",
        ),
    ):
        refused = send(minutes, name, data)
        assert refused.status_code == 400, said  # type: ignore[attr-defined]
        assert f"ジョブ #{job_id}: {said}" in refused.text, said  # type: ignore[attr-defined]
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        asr = session.get(AsrJob, asr_id)
        assert asr is not None and (asr.correction_minutes, asr.cer) == (None, None)
    engine.dispose()
    done = send("30", "修正後.docx", corrected.read_bytes())
    text = done.text  # type: ignore[attr-defined]
    assert (
        f"ジョブ #{job_id}: 修正時間 30分を記録しました（自己申告）。"
        "認識精度 72.7%（文字誤り率 27.3%、修正後 22文字）"
    ) in text
    # The job's row says where its time comes from, and the accuracy.
    assert "記録済み 30分（自己申告）・認識精度 72.7%" in text
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        asr = session.get(AsrJob, asr_id)
        assert asr is not None
        assert (asr.correction_source, asr.corrected_characters, asr.edit_substitutions) == (
            "self-reported",
            22,
            3,
        )
        assert asr.finished_by == "local"
    engine.dispose()


def test_a_clerk_sees_only_their_departments_jobs(
    web: Web, users: auth.UserStore, clip: bytes
) -> None:
    web.login("admin1", "admin-pass-1")
    web.post("/minutes", {"department": "人事課"}, [("audio", ("人事.wav", clip))])
    web.post("/logout", token_from="/")
    web.login("clerk1", "clerk-pass-1")
    web.post("/minutes", {"department": "人事課"}, [("audio", ("総務.wav", clip[:-2]))])
    page = web.client.get("/minutes").text
    assert "総務.wav" in page and "人事.wav" not in page  # the clerk's department is forced
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        jobs = {j.original_name: j for j in session.scalars(select(WebJob))}
    engine.dispose()
    assert jobs["総務.wav"].department == "総務課"
    other = jobs["人事.wav"].id
    assert web.client.get(f"/minutes/jobs/{other}/download/docx").status_code == 404
    assert web.client.get(f"/minutes/status?ids={other}").json() == {"jobs": []}


def test_a_bad_glossary_is_refused_with_its_name(web: Web, clip: bytes) -> None:
    page = web.post(
        "/minutes",
        {},
        [("audio", ("a.wav", clip)), ("glossary", ("用語集.tsv", bytes(range(256))))],
    )
    assert "用語集.tsv" in page.text  # type: ignore[attr-defined]
    assert _count(web, WebJob) == 0
    ok = web.post(
        "/minutes",
        {},
        [
            ("audio", ("a.wav", clip)),
            ("glossary", ("用語集.tsv", "電子決裁\tでんしけっさい\n".encode("cp932"))),
        ],
    )
    assert "受け付けました" in ok.text  # type: ignore[attr-defined]
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        assert session.scalar(select(WebJob.glossary)) == "電子決裁\tでんしけっさい\n"
    engine.dispose()


# --- RPA, survey, report ---------------------------------------------------------------------


def test_a_refused_register_entry_shows_the_page_again_with_what_was_typed(web: Web) -> None:
    page = web.post(
        "/rpa/issues",
        {"title": "端末の<不調>", "state": "保留", "found_on": "2019-12-01", "owner": "山田"},
        token_from="/rpa",
    )
    text = page.text  # type: ignore[attr-defined]
    assert page.status_code == 400  # type: ignore[attr-defined]
    assert "知らない状態です: 保留" in text
    assert "端末の&lt;不調&gt;" in text and "端末の<不調>" not in text
    assert 'value="山田"' in text
    assert _count(web, RpaIssue) == 0


def test_rpa_import_shows_the_result_and_the_rejected_row(web: Web) -> None:
    catalog = web.post(
        "/rpa/catalog", {}, [("file", ("台帳.csv", (DATA / "rpa/catalog.csv").read_bytes()))]
    )
    assert "業務台帳の取り込み結果" in catalog.text  # type: ignore[attr-defined]
    runs = web.post(
        "/rpa/runs?fy=2019&period=final",
        {"format": "wmc"},
        [("file", ("tasks_201905.csv", (DATA / "rpa/wmc_tasks.csv").read_bytes()))],
    )
    text = runs.text  # type: ignore[attr-defined]
    assert runs.status_code == 200, text  # type: ignore[attr-defined]
    assert (
        "tasks_201905.csv（WinActor Manager on Cloud タスクエクスポート・Shift_JIS（CP932））"
        in text
    )
    assert re.search(r'data-figure="rejected">[1-9]', text)
    assert "読めない行（取り込んでいません）" in text and "2019/02/30" in text
    assert "uploads/" not in text  # the generated name is never shown
    again = web.post(
        "/rpa/runs", {"format": "auto"},
        [("file", ("same.csv", (DATA / "rpa/wmc_tasks.csv").read_bytes()))],
    )  # fmt: skip
    assert re.search(r'data-figure="runs_added">0<', again.text)  # type: ignore[attr-defined]
    summary = web.client.get("/rpa?fy=2019&period=final").text
    assert "業務別" in summary and "請求書登録" in summary and "月別" in summary
    # What the figures leave out, named as the report and `pilots rpa summary` name it.
    excluded = summary[summary.index('<ul class="excluded">') :]
    excluded = excluded[: excluded.index("</ul>")]
    for shown in (
        "成功・失敗以外の実行: <strong>1回</strong>",
        "「CANCEL」1回",
        "業務台帳にないシナリオの実行: <strong>2回</strong>",
        "読めなかった実行ログの行: <strong>4行</strong>",
        "日時のない実行: <strong>0回</strong>",
    ):
        assert shown in excluded, shown


def test_pages_without_data_open_on_this_fiscal_year_in_japan(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fiscal year of Japan's date (pilots.calendar.today), whatever the server's zone."""
    monkeypatch.setattr("pilots.calendar.today", lambda: date(2020, 3, 31))
    for path in ("/rpa", "/report"):
        page = web.client.get(path).text
        assert re.search(r'<input id="fy" name="fy"[^>]* value="2019"', page), path


def test_survey_summary_with_interval_and_comments(web: Web) -> None:
    page = web.post(
        "/survey",
        {"survey": "利用者アンケート"},
        [("file", ("回答.csv", (DATA / "report/survey.csv").read_bytes()))],
    )
    text = page.text  # type: ignore[attr-defined]
    assert page.status_code == 200, text  # type: ignore[attr-defined]
    assert "調査「利用者アンケート」" in text
    assert "95%信頼区間" in text and "自由記述" in text
    assert "利用者アンケート" in web.client.get("/survey").text


def test_report_on_a_fresh_install_takes_its_plan_from_the_database(
    web: Web, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Outside the repository (no data/demo/plan.yaml): the plan is uploaded and kept."""
    monkeypatch.chdir(tmp_path)
    page = web.client.get("/report?fy=2019")
    assert page.status_code == 200 and "令和元年度の計画がまだ登録されていません" in page.text
    assert web.client.get("/report/view?fy=2019&period=final").status_code == 400
    plan = (DATA / "report" / "plan.yaml").read_bytes()
    broken = web.post(
        "/report/plan", {}, [("plan", ("計画.yaml", b"fiscal_year: 2019\ninitiatives: [\n"))]
    )
    assert broken.status_code == 400  # type: ignore[attr-defined]
    assert "計画.yaml 3行目: YAMLとして読めません" in broken.text  # type: ignore[attr-defined]
    uploaded = web.post("/report/plan", {}, [("plan", ("C:\\計画\\plan.yaml", plan))])
    text = uploaded.text  # type: ignore[attr-defined]
    assert "plan.yaml: 令和元年度の計画を版 1 として取り込みました" in text
    assert 'value="2019"' in text and "テスト用の効果測定報告" in text and "計画\\" not in text
    again = web.post("/report/plan", {}, [("plan", ("plan.yaml", plan))])
    assert "版 1 と同じ内容です" in again.text  # type: ignore[attr-defined]
    assert 'value="2019"' in web.client.get("/report").text  # opens on the plan's year
    view = web.client.get("/report/view?fy=2019&period=final")
    assert view.status_code == 200 and "テスト用の効果測定報告" in view.text
    assert "<script" not in view.text
    assert "default-src 'none'" in view.headers["content-security-policy"]
    for fmt, start in (("html", b"<!"), ("md", b"#"), ("xlsx", b"PK")):
        response = web.client.get(f"/report/download?fy=2019&period=interim&format={fmt}")
        assert response.status_code == 200
        assert response.content.lstrip()[:2].startswith(start[:1]), fmt
        assert "attachment" in response.headers["content-disposition"]
    download = web.client.get("/report/plan/download?fy=2019&version=1")
    assert download.status_code == 200 and download.content == plan
    assert "plan_fy2019_v1.yaml" in download.headers["content-disposition"]
    wrong_year = web.client.get("/report/view?fy=2020&period=final")
    assert (
        wrong_year.status_code == 400 and "令和2年度の計画が登録されていません" in wrong_year.text
    )
    bad_date = web.client.get("/report/view?fy=2019&period=final&as_of=nonsense")
    assert bad_date.status_code == 400


def test_report_page_lets_the_evaluator_choose_the_survey(web: Web) -> None:
    web.post(
        "/report/plan", {}, [("plan", ("plan.yaml", (DATA / "report/plan.yaml").read_bytes()))]
    )
    survey = (DATA / "report/survey.csv").read_bytes()
    for name in ("利用者アンケート", "研修アンケート"):
        web.post("/survey", {"survey": name}, [("file", ("回答.csv", survey))])
    page = web.client.get("/report?fy=2019&period=final").text
    assert "回答された満足度調査が2件あります" in page
    assert '<select id="survey" name="survey">' in page and "研修アンケート（回答4件）" in page
    unchosen = web.client.get("/report/view?fy=2019&period=final").text
    assert "満足度調査が2件あります" in unchosen
    chosen = web.client.get(
        "/report/view?fy=2019&period=final&survey=" + quote("研修アンケート")
    ).text
    assert "66.67%" in chosen and "満足度調査: 研修アンケート" in chosen
    page = web.client.get("/report?fy=2019&period=final&survey=" + quote("研修アンケート")).text
    assert "survey=%E7%A0%94" in page  # the choice travels with the view and download links


def test_survey_is_deleted_after_confirmation(web: Web) -> None:
    web.post(
        "/survey",
        {"survey": "誤った調査"},
        [("file", ("回答.csv", (DATA / "report/survey.csv").read_bytes()))],
    )
    page = web.client.get("/survey").text
    assert 'action="/survey/delete"' in page
    ask = web.post("/survey/delete", {"name": "誤った調査"}, token_from="/survey")
    assert "調査「誤った調査」を削除しますか" in ask.text  # type: ignore[attr-defined]
    assert "回答 4件" in ask.text  # type: ignore[attr-defined]
    assert "誤った調査" in web.client.get("/survey").text  # nothing deleted yet
    done = web.post("/survey/delete", {"name": "誤った調査", "confirm": "1"})
    assert "調査「誤った調査」を削除しました（回答 4件）" in done.text  # type: ignore[attr-defined]
    assert "満足度調査はまだ取り込まれていません" in web.client.get("/survey").text


def test_upload_display_names() -> None:
    from pilots.web.uploads import display_name

    assert display_name("C:\\Users\\sato\\会議.m4a") == "会議.m4a"
    assert display_name("../../etc/passwd") == "passwd"
    assert display_name("a\x00b\r\n.wav") == "ab.wav"
    assert display_name("") == "無題"


# --- issue 10: the clerk's own queue, one job per recording, deleting recordings -------------


def _jobs(web: Web) -> list[WebJob]:
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        jobs = list(session.scalars(select(WebJob).order_by(WebJob.id)))
    engine.dispose()
    return jobs


def test_the_home_page_shows_the_clerks_own_queue(
    web: Web, users: auth.UserStore, clip: bytes
) -> None:
    web.login("admin1", "admin-pass-1")
    for n in range(3):
        web.post("/minutes", {"department": "人事課"}, [("audio", (f"j{n}.wav", clip[: -2 - n]))])
    web.post("/logout", token_from="/")
    web.login("clerk1", "clerk-pass-1")
    web.post("/minutes", {}, [("audio", ("総務.wav", clip))])
    home = web.client.get("/").text
    assert "総務課の文字起こしの待ち行列:待機中1件" in re.sub(r"\s+", "", home)
    web.post("/logout", token_from="/")
    web.login("admin1", "admin-pass-1")
    assert "文字起こしの待ち行列:待機中4件" in re.sub(r"\s+", "", web.client.get("/").text)
    web.post("/logout", token_from="/")
    web.login("rpa1", "rpa-pass-12")  # the RPA team has no queue of recordings
    assert "待ち行列" not in web.client.get("/").text


def test_the_same_file_from_the_same_department_is_one_job(web: Web, clip: bytes) -> None:
    first = web.post("/minutes", {"department": "総務課"}, [("audio", ("定例.wav", clip))])
    assert "定例.wav: 受け付けました（ジョブ #" in first.text  # type: ignore[attr-defined]
    (job,) = _jobs(web)
    again = web.post("/minutes", {"department": "総務課 "}, [("audio", ("定例のコピー.wav", clip))])
    assert (
        f"定例のコピー.wav: 同じ所属から10分以内に同じ録音が送られているため、ジョブ #{job.id} "
        "として扱います（二重には文字起こししません）"
    ) in again.text  # type: ignore[attr-defined]
    assert len(_jobs(web)) == 1
    assert len(list((web.data_dir / "uploads").iterdir())) == 1  # the copy is not kept
    # Another department's meeting with the same file is its own job.
    other = web.post("/minutes", {"department": "人事課"}, [("audio", ("定例.wav", clip))])
    assert "受け付けました" in other.text  # type: ignore[attr-defined]
    assert [j.department for j in _jobs(web)] == ["総務課", "人事課"]


def test_the_upload_script_gets_the_page_to_go_to(web: Web, clip: bytes) -> None:
    response = web.client.post(
        "/minutes",
        data={"csrf_token": web.token("/minutes"), "department": "総務課"},
        files=[("audio", ("a.wav", clip))],
        headers={"X-Pilots-Upload": "1"},
    )
    assert response.status_code == 200 and response.json() == {"location": "/minutes"}
    # The message waits in the session for that page.
    assert "a.wav: 受け付けました" in web.client.get("/minutes").text
    script = web.client.get("/static/app.js").text
    assert "button.disabled = true" in script and 'upload.addEventListener("progress"' in script


def test_delete_a_recording_keeps_the_job_and_its_measurement(
    web: Web, clip: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="pilots")
    web.post("/minutes", {"department": "総務課"}, [("audio", ("会議.wav", clip))])
    web.post("/minutes", {"department": "総務課"}, [("audio", ("待機中.wav", clip[:-4]))])
    first, waiting = _jobs(web)
    refused = web.post(f"/minutes/jobs/{waiting.id}/recording/delete", token_from="/minutes")
    assert "文字起こしが終わるまで録音は削除できません" in refused.text
    asr_id = _finish_job(web, first.id)
    web.post(f"/minutes/jobs/{first.id}/correction", {"minutes": "30"}, token_from="/minutes")
    page = web.client.get("/minutes").text
    assert f'action="/minutes/jobs/{first.id}/recording/delete"' in page
    assert f"効果測定のジョブ #{asr_id}" in page
    stored = web.data_dir / "uploads"
    assert len(list(stored.iterdir())) == 2
    done = web.post(f"/minutes/jobs/{first.id}/recording/delete", token_from="/minutes")
    text = done.text  # type: ignore[attr-defined]
    assert f"ジョブ #{first.id}: 録音を削除しました（議事録案と効果測定の記録は残ります）" in text
    assert "録音は削除済み" in text
    assert f'action="/minutes/jobs/{first.id}/recording/delete"' not in text
    assert len(list(stored.iterdir())) == 1  # the waiting job's recording is still there
    assert any("録音を削除しました" in r.getMessage() for r in caplog.records)
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        job = session.get(WebJob, first.id)
        asr = session.get(AsrJob, asr_id)
        assert job is not None and job.recording_deleted_at is not None
        assert asr is not None and (asr.audio_seconds, asr.correction_minutes) == (3600.0, 30)
        assert queue.output(session, first.id, "docx") == b"PK-docx"  # the draft stays
    engine.dispose()


def test_a_clerk_cannot_delete_another_departments_recording(
    web: Web, users: auth.UserStore, clip: bytes
) -> None:
    web.login("admin1", "admin-pass-1")
    web.post("/minutes", {"department": "人事課"}, [("audio", ("人事.wav", clip))])
    (job,) = _jobs(web)
    _finish_job(web, job.id)
    web.post("/logout", token_from="/")
    web.login("clerk1", "clerk-pass-1")
    response = web.post(f"/minutes/jobs/{job.id}/recording/delete", token_from="/minutes")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert len(list((web.data_dir / "uploads").iterdir())) == 1


def _age(web: Web, job_id: int, days: float) -> None:
    engine, factory = web.session()  # type: ignore[misc]
    with db.session_scope(factory) as session:
        finished = db.db_now(session) - timedelta(days=days)
        session.execute(update(WebJob).where(WebJob.id == job_id).values(finished_at=finished))
    engine.dispose()


def test_pilots_asr_purge_deletes_recordings_past_their_retention(
    web: Web, clip: bytes, tmp_path: Path
) -> None:
    for n in range(3):
        web.post("/minutes", {"department": "総務課"}, [("audio", (f"{n}.wav", clip[: -2 - n]))])
    old, recent, waiting = _jobs(web)
    for job in (old, recent):
        _finish_job(web, job.id)
    _age(web, old.id, 31)
    _age(web, recent.id, 2)
    # Copies killed workers left: of the old job, of a job no longer in the queue, and
    # of a job still waiting (a worker may be about to use it).
    work = web.data_dir / "work"
    for name in (f"job{old.id}-x1", "job999-x3", f"job{waiting.id}-x2"):
        (work / name).mkdir(parents=True)
        (work / name / "recording").write_bytes(clip)
    # A recording whose request broke off before it became a job, 40 days ago.
    orphan = web.data_dir / "uploads" / ("f" * 32 + ".audio")
    orphan.write_bytes(clip)
    os.utime(orphan, (time.time() - 40 * 86400,) * 2)
    env = {"PILOTS_DATA_DIR": str(web.data_dir)}
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", web.db_url, "asr", "purge"], env=env)
    assert result.exit_code == 0, result.output
    assert f"削除: ジョブ #{old.id} 0.wav（総務課）" in result.output
    assert "完了から30日を過ぎた録音 1件、ジョブにならなかった録音 1件、作業コピー 1件を削除" in (
        result.output
    )
    assert not orphan.exists() and sorted(p.name for p in work.iterdir()) == [f"job{waiting.id}-x2"]
    deleted = {j.id for j in _jobs(web) if j.recording_deleted_at is not None}
    assert deleted == {old.id}
    now = runner.invoke(cli, ["--db", web.db_url, "asr", "purge", "--older-than", "0", "--json"],
                        env=env)  # fmt: skip
    assert [r["job_id"] for r in json_loads(now.output)["recordings"]] == [recent.id]
    assert {j.id for j in _jobs(web) if j.recording_deleted_at is not None} == {old.id, recent.id}
    # The waiting job keeps its recording: it is not transcribed yet.
    assert len(list((web.data_dir / "uploads").iterdir())) == 1
    # The measurement records are all there.
    assert _count(web, AsrJob) == 2


def test_the_server_deletes_expired_recordings_by_itself(
    tmp_path: Path, db_url: str, clip: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with _make(tmp_path, db_url) as client:
        web = Web(client, tmp_path / "data", db_url)
        web.post("/minutes", {"department": "総務課"}, [("audio", ("古い会議.wav", clip))])
        (job,) = _jobs(web)
        _finish_job(web, job.id)
        _age(web, job.id, 45)
    caplog.set_level("INFO", logger="pilots")
    with _make(tmp_path, db_url):  # restarted: the purge runs at start, then every hour
        for _ in range(100):
            if not list((tmp_path / "data" / "uploads").iterdir()):
                break
            time.sleep(0.05)
    assert list((tmp_path / "data" / "uploads").iterdir()) == []
    (line,) = [r.getMessage() for r in caplog.records if "録音を削除しました" in r.getMessage()]
    assert f"ジョブの完了から30日を過ぎたため）: ジョブ #{job.id} 古い会議.wav（総務課）" in line


def test_asr_jobs_shows_the_web_job_numbers(web: Web, clip: bytes) -> None:
    web.post("/minutes", {"department": "総務課"}, [("audio", ("会議.wav", clip))])
    (job,) = _jobs(web)
    asr_id = _finish_job(web, job.id)
    runner = CliRunner()
    env = {"PILOTS_DATA_DIR": str(web.data_dir)}
    listing = json_loads(runner.invoke(cli, ["--db", web.db_url, "asr", "jobs", "--json"],
                                       env=env).output)  # fmt: skip
    assert [(j["job_id"], j["web_jobs"]) for j in listing] == [(asr_id, [job.id])]
    table = runner.invoke(cli, ["--db", web.db_url, "asr", "jobs"], env=env).output
    assert "受付" in table and f"#{job.id}" in table


def test_the_survey_question_is_chosen_from_the_file_sent_before(
    web: Web, users: auth.UserStore
) -> None:
    two = "所属,議事録の満足度,RPAの満足度\n総務課,満足,不満\n人事課,不満,満足\n".encode()
    web.login("eval1", "eval-pass-1")
    page = web.post("/survey", {}, [("file", ("二問.csv", two))])
    text = page.text  # type: ignore[attr-defined]
    assert page.status_code == 400  # type: ignore[attr-defined]
    assert "--question" not in text
    assert '<option value="RPAの満足度">' in text
    stored = re.search(r'name="upload" value="([0-9a-f]{32}\.csv)"', text)
    assert stored, text
    # Only a generated name of this user's own survey upload is taken back.
    for name in ("../users.json", "0" * 32 + ".csv"):
        refused = web.post("/survey", {"upload": name, "question": "RPAの満足度"})
        assert "もう一度選んでください" in refused.text or "正しくありません" in refused.text  # type: ignore[attr-defined]
    web.post("/logout", token_from="/")
    web.login("admin1", "admin-pass-1")
    other = web.post("/survey", {"upload": stored.group(1), "question": "RPAの満足度"})
    assert "もう一度選んでください" in other.text  # type: ignore[attr-defined]
    web.post("/logout", token_from="/")
    web.login("eval1", "eval-pass-1")
    done = web.post("/survey", {"upload": stored.group(1), "question": "RPAの満足度"})
    assert done.status_code == 200, done.text  # type: ignore[attr-defined]
    assert "調査「二問」: 2行" in done.text and "設問: RPAの満足度" in done.text  # type: ignore[attr-defined]

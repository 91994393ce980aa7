"""Admin accounts: create-admin, login and logout, guards, CSRF, throttling, target name."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from tests.conftest import new_app
from webapp.context import get_db
from webapp.store import users
from webapp.web.auth import safe_next

# The store and API on both engines: SQLite, and a real PostgreSQL server.
pytestmark = pytest.mark.usefixtures("database")

PASSWORD = "correct horse battery staple"

ADMIN_PAGES = [
    "/admin/",
    "/admin/label",
    "/admin/grid",
    "/admin/browse",
    "/admin/crops/1",
    "/admin/crops/1/image.png",
    "/admin/crops/1/face.png",
    "/admin/crops/1/frame.jpg",
]
ADMIN_API = [
    ("get", "/api/admin/crops/next"),
    ("get", "/api/admin/progress"),
    ("post", "/api/admin/crops/1/label"),
    ("post", "/api/admin/crops/1/skip"),
    ("post", "/api/admin/undo"),
]
ADMIN_POSTS = ["/admin/", "/admin/label", "/admin/grid", "/admin/crops/1", "/admin/logout"]


def csrf_token(html: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html).group(1).decode()


def test_create_admin_from_env(runner, app, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", PASSWORD)
    result = runner.invoke(args=["create-admin", "alice"])
    assert result.exit_code == 0, result.output
    assert "alice" in result.output and PASSWORD not in result.output
    with app.app_context():
        stored = users.find_user(get_db(), "alice")["password_hash"]
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_create_admin_prompts_twice(runner, app, monkeypatch):
    monkeypatch.delenv("LOOKALIKE_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(args=["create-admin", "bob"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    client = app.test_client()
    page = client.get("/admin/login")
    response = client.post(
        "/admin/login",
        data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_token(page.data)},
    )
    assert response.status_code == 302


def test_create_admin_refuses_duplicates_and_short_passwords(runner, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", "short")
    result = runner.invoke(args=["create-admin", "carol"])
    assert result.exit_code != 0 and "at least 8 characters" in result.output
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", PASSWORD)
    assert runner.invoke(args=["create-admin", "carol"]).exit_code == 0
    again = runner.invoke(args=["create-admin", "carol"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert "Traceback" not in again.output
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", PASSWORD + "!")
    reset = runner.invoke(args=["create-admin", "carol", "--reset-password"])
    assert reset.exit_code == 0, reset.output
    missing = runner.invoke(args=["create-admin", "dave", "--reset-password"])
    assert missing.exit_code != 0 and "no admin named" in missing.output


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_send_visitors_to_login(labelling_app, url):
    response = labelling_app.test_client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


@pytest.mark.parametrize(("method", "url"), ADMIN_API)
def test_admin_api_answers_401_json(labelling_app, method, url):
    response = getattr(labelling_app.test_client(), method)(url, json={"label": "target"})
    assert response.status_code == 401
    assert "error" in response.get_json()


@pytest.mark.parametrize("url", ADMIN_POSTS[:-1])
def test_admin_posts_need_login(labelling_app, url):
    response = labelling_app.test_client().post(url, data={"label": "target", "crop_id": "1"})
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_login_logout_and_next(labelling_app, log_in_as):
    client = labelling_app.test_client()
    page = client.get("/admin/login?next=/admin/browse")
    assert page.status_code == 200 and b"Admin login" in page.data
    response = client.post(
        "/admin/login?next=/admin/browse", data={"name": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/browse"
    assert client.get("/admin/").status_code == 200
    assert b"alice" in client.get("/admin/").data
    assert client.post("/admin/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_login_ignores_next_off_site(labelling_app):
    client = labelling_app.test_client()
    response = client.post(
        "/admin/login?next=//evil.example/x", data={"name": "alice", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_and_unknown_name_look_alike(labelling_app, log_in_as):
    client = labelling_app.test_client()
    wrong = log_in_as(client, "alice", "not the password")
    unknown = log_in_as(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert b"Wrong name or password." in wrong.data and b"Wrong name or password." in unknown.data
    assert b"not the password" not in wrong.data
    assert client.get("/admin/").status_code == 302
    empty = client.post("/admin/login", data={"name": "", "password": ""})
    assert empty.status_code == 400 and b"Traceback" not in empty.data


def test_repeated_failures_lock_the_name(labelling_app, log_in_as):
    client = labelling_app.test_client()
    for _ in range(4):
        assert log_in_as(client, "alice", "wrong password").status_code == 401
    locked = log_in_as(client, "alice", "wrong password")
    assert locked.status_code == 429 and b"Too many failed logins" in locked.data
    # Even the right password is refused while the lock lasts...
    refused = log_in_as(client, "alice")
    assert refused.status_code == 429 and b"Try again later" in refused.data
    # ...and bob is not affected.
    assert log_in_as(labelling_app.test_client(), "bob").status_code == 302
    with labelling_app.app_context():
        get_db().execute("UPDATE login_throttle SET expires_at = 0")  # the lock is over
    assert log_in_as(client, "alice").status_code == 302


def test_login_resets_failure_count(labelling_app, log_in_as):
    client = labelling_app.test_client()
    for _ in range(4):
        log_in_as(client, "alice", "wrong password")
    assert log_in_as(client, "alice").status_code == 302
    with labelling_app.app_context():
        assert users.find_user(get_db(), "alice")["last_login_at"]
    client.post("/admin/logout")
    for _ in range(4):
        assert log_in_as(client, "alice", "wrong password").status_code == 401
    assert log_in_as(client, "alice", "wrong password").status_code == 429


def client_at(app, address: str):
    """A browser at this client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def login_errors(response) -> list[str]:
    return re.findall(r'class="error" role="alert">([^<]*)<', response.get_data(as_text=True))


def test_unknown_and_known_names_get_the_same_answers(labelling_app, log_in_as):
    answers = {}
    for name in ("alice", "nobody"):
        client = client_at(labelling_app, "198.51.100.7")
        tries = [log_in_as(client, name, "wrong password") for _ in range(6)]
        tries.append(log_in_as(client, name))  # the right password, for alice
        answers[name] = [(r.status_code, login_errors(r)) for r in tries]
    assert answers["alice"] == answers["nobody"]
    assert [status for status, _ in answers["alice"]] == [401] * 4 + [429] * 3
    assert answers["alice"][0][1] == ["Wrong name or password."]


def test_wrong_passwords_from_one_address_cannot_lock_the_admin_out_of_another(
    labelling_app, log_in_as
):
    attacker = client_at(labelling_app, "203.0.113.66")
    for _ in range(10):
        log_in_as(attacker, "alice", "a guess")
    assert log_in_as(attacker, "alice").status_code == 429
    alice = client_at(labelling_app, "198.51.100.7")
    assert log_in_as(alice, "alice").status_code == 302
    assert alice.get("/admin/").status_code == 200


def test_a_spray_of_names_from_one_address_is_throttled(labelling_app, log_in_as, tmp_path):
    # A second app on the same store stands for a second gunicorn worker.
    other_worker = new_app(
        tmp_path, INSTANCE=labelling_app.config["INSTANCE"], WTF_CSRF_ENABLED=False
    )
    workers = [client_at(app, "203.0.113.66") for app in (labelling_app, other_worker)]
    statuses = [log_in_as(workers[i % 2], f"name{i}", "a guess").status_code for i in range(25)]
    assert statuses == [401] * 19 + [429] * 6  # the 20th failure locks the address
    refused = log_in_as(workers[0], "alice")  # the right password waits too
    assert refused.status_code == 429
    assert "Too many failed logins from your address" in login_errors(refused)[0]
    assert log_in_as(client_at(labelling_app, "198.51.100.7"), "alice").status_code == 302


@pytest.mark.parametrize(
    ("limit", "expected"), [(3, [401, 401, 429, 429]), (0, [401, 401, 401, 401])]
)
def test_the_address_limit_is_a_setting(new_labelling_app, log_in_as, limit, expected):
    app = new_labelling_app(WTF_CSRF_ENABLED=False, LOGIN_ADDRESS_LIMIT=limit)
    client = client_at(app, "203.0.113.66")
    statuses = [log_in_as(client, f"name{i}", "a guess").status_code for i in range(4)]
    assert statuses == expected


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_address_is_the_one_proxy_fix_trusts(new_labelling_app, log_in_as, proxies):
    app = new_labelling_app(WTF_CSRF_ENABLED=False, LOGIN_ADDRESS_LIMIT=3, PROXY_FIX=proxies)
    client = client_at(app, "10.0.0.2")  # the proxy, or someone forging the header

    def attempt(forwarded_for: str) -> int:
        data = {"name": "nobody", "password": "a guess"}
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/admin/login", data=data, headers=headers).status_code

    statuses = [attempt(f"203.0.113.{i}") for i in range(4)]
    # Without a trusted proxy a forged header changes nothing; behind one, each client
    # address has its own count.
    assert statuses == ([401, 401, 429, 429] if proxies == 0 else [401] * 4)


def test_reset_password_lifts_the_lock(labelling_app, log_in_as, monkeypatch):
    client = labelling_app.test_client()
    for _ in range(5):
        log_in_as(client, "alice", "wrong password")
    assert log_in_as(client, "alice").status_code == 429
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", PASSWORD + "!")
    runner = labelling_app.test_cli_runner()
    assert runner.invoke(args=["create-admin", "alice", "--reset-password"]).exit_code == 0
    assert log_in_as(client, "alice", PASSWORD + "!").status_code == 302


def test_session_cookie_is_httponly_and_samesite(labelling_app, log_in_as):
    response = log_in_as(labelling_app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.fixture
def csrf_app(new_labelling_app):
    return new_labelling_app(WTF_CSRF_ENABLED=True)


def test_login_without_csrf_token_is_refused(csrf_app, log_in_as):
    client = csrf_app.test_client()
    response = log_in_as(client)
    assert response.status_code == 400 and b"CSRF" in response.data
    assert client.get("/admin/").status_code == 302
    token = csrf_token(client.get("/admin/login").data)
    assert log_in_as(client, csrf_token=token).status_code == 302


@pytest.fixture
def csrf_client(csrf_app, log_in_as):
    client = csrf_app.test_client()
    token = csrf_token(client.get("/admin/login").data)
    assert log_in_as(client, csrf_token=token).status_code == 302
    client.token = csrf_token(client.get("/admin/label").data)
    return client


@pytest.mark.parametrize("url", ADMIN_POSTS)
def test_admin_forms_without_csrf_token_are_refused(csrf_client, url):
    response = csrf_client.post(url, data={"label": "target", "decision": "target", "crop_id": 1})
    assert response.status_code == 400 and b"CSRF" in response.data


def test_api_without_csrf_header_is_refused(csrf_client, csrf_app):
    response = csrf_client.post("/api/admin/crops/1/label", json={"label": "target"})
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
    with csrf_app.app_context():
        assert get_db().execute("SELECT label FROM crops WHERE id = 1").fetchone()[0] is None
    ok = csrf_client.post(
        "/api/admin/crops/1/label",
        json={"label": "target"},
        headers={"X-CSRFToken": csrf_client.token},
    )
    assert ok.status_code == 200


def test_form_with_csrf_token_works(csrf_client):
    response = csrf_client.post(
        "/admin/label", data={"decision": "target", "crop_id": 1, "csrf_token": csrf_client.token}
    )
    assert response.status_code == 302


def test_target_name_setting(admin_client):
    assert b"the target" in admin_client.get("/").data
    response = admin_client.post("/admin/", data={"target_name": "Patrick Bateman"})
    assert response.status_code == 302
    assert b"Patrick Bateman" in admin_client.get("/").data
    assert b"Is this Patrick Bateman?" in admin_client.get("/admin/label").data
    assert b'value="Patrick Bateman"' in admin_client.get("/admin/").data
    empty = admin_client.post("/admin/", data={"target_name": "  "})
    assert empty.status_code == 400
    too_long = admin_client.post("/admin/", data={"target_name": "x" * 101})
    assert too_long.status_code == 400
    assert b"Patrick Bateman" in admin_client.get("/").data


# What a browser does to a Location header before following it (WHATWG URL parsing):
# leading and trailing C0 controls and spaces go, tabs and newlines anywhere go, and a
# backslash counts as a slash.
def browser_destination(location: str, page: str = "https://lookalike.example/admin/login"):
    cleaned = location.strip("".join(map(chr, range(0x21)))).translate(
        {ord("\t"): None, ord("\n"): None, ord("\r"): None}
    )
    return urlsplit(urljoin(page, cleaned.replace("\\", "/")))


OFF_SITE_NEXT = [
    "//evil.example/x",
    "///evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example/x",
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\n/evil.example/x",
    " //evil.example/x",
    "\x00//evil.example/x",
    "/\x0b/evil.example/x",
    "https://evil.example/x",
    "https:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "/\u3000/evil.example",
    "/\uff0f/evil.example",
    "//\u0435vil.example",
    "/[::1",
    "//[",
    "",
]


@pytest.mark.parametrize("target", OFF_SITE_NEXT)
def test_login_never_redirects_off_site(labelling_app, target):
    client = labelling_app.test_client()
    response = client.post(
        "/admin/login?" + urlencode({"next": target}), data={"name": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    destination = browser_destination(location)
    assert (destination.scheme, destination.netloc) == ("https", "lookalike.example")
    assert client.get("/admin/").status_code == 200  # logged in all the same


def test_login_redirects_to_next_on_the_site(labelling_app):
    client = labelling_app.test_client()
    for target, expected in [
        ("/admin/browse?label=target&page=2", "/admin/browse?label=target&page=2"),
        ("/admin/crops/3", "/admin/crops/3"),
        ("/admin/\u00e9t\u00e9", "/admin/%C3%A9t%C3%A9"),
    ]:
        client.post("/admin/logout")
        response = client.post(
            "/admin/login?" + urlencode({"next": target}),
            data={"name": "alice", "password": PASSWORD},
        )
        assert response.headers["Location"] == expected


@pytest.mark.parametrize("target", [None, 42, "/\ud800", "/" + "a" * 100_000, "/%"])
def test_safe_next_never_raises(target):
    result = safe_next(target)
    assert result is None or (result.startswith("/") and result.isascii())


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logging_out_ends_the_session_even_for_a_copied_cookie(labelling_app, log_in_as):
    client = labelling_app.test_client()
    assert log_in_as(client).status_code == 302
    copied = session_cookie(client)
    assert client.post("/admin/logout").status_code == 302
    thief = labelling_app.test_client()
    thief.set_cookie("session", copied)
    replayed = thief.get("/admin/dashboard")
    assert replayed.status_code == 302 and "/admin/login" in replayed.headers["Location"]
    assert thief.get("/api/admin/progress").status_code == 401
    # Logging in again works, with a new cookie.
    assert log_in_as(client).status_code == 302
    assert client.get("/admin/dashboard").status_code == 200


def test_reset_password_ends_every_session_of_that_admin(labelling_app, log_in_as, monkeypatch):
    alice, bob = labelling_app.test_client(), labelling_app.test_client()
    assert log_in_as(alice).status_code == 302
    assert log_in_as(bob, "bob").status_code == 302
    monkeypatch.setenv("LOOKALIKE_ADMIN_PASSWORD", PASSWORD + "!")
    result = labelling_app.test_cli_runner().invoke(
        args=["create-admin", "alice", "--reset-password"]
    )
    assert result.exit_code == 0, result.output
    assert alice.get("/admin/").status_code == 302
    assert bob.get("/admin/").status_code == 200  # only alice's sessions end
    assert log_in_as(alice, "alice", PASSWORD + "!").status_code == 302
    assert alice.get("/admin/").status_code == 200

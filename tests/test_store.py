"""The store on both engines: migrations, constraints, transactions, idempotent init-db,
no data ever dropped, the copy from SQLite to PostgreSQL; SQLite's own pragmas."""

from __future__ import annotations

import re
import threading
import time
from importlib import resources

import pytest

from tests.postgres import PASSWORD
from webapp.store import db, jobs, login_throttle, rate_limits, users
from webapp.store import videos as video_store
from webapp.store.copy import TABLES, copy_store, count_rows

both_engines = pytest.mark.usefixtures("database")

VIDEO = dict(size_bytes=1, frame_count=10, fps=25.0, width=4, height=4)


@both_engines
def test_a_new_store_gets_every_migration(store_target):
    conn = db.open_store(store_target)
    assert db.schema_version(conn) == len(db.migrations())
    assert set(TABLES) | {"workers"} <= set(conn.tables())


def test_the_database_url_chooses_the_engine(database, store_target):
    conn = db.connect(store_target)
    assert conn.dialect == ("postgresql" if database else "sqlite")
    assert db.is_postgresql(store_target) == bool(database)


def test_a_password_in_the_url_is_never_printed():
    url = "postgresql://look:s3cret@db.example:5432/lookalike"
    assert db.describe(url) == "postgresql://look:***@db.example:5432/lookalike"
    assert db.describe("/srv/instance/lookalike.sqlite3") == "/srv/instance/lookalike.sqlite3"


def test_sqlite_pragmas_foreign_keys_and_wal(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@both_engines
def test_references_are_enforced(store_target):
    conn = db.open_store(store_target)
    with pytest.raises(db.IntegrityError), db.transaction(conn):
        conn.execute(
            "INSERT INTO extractions (video_id, params, status, started_at)"
            " VALUES (999, '{}', 'done', 'now')"
        )


def test_migrations_only_add():
    for entry in resources.files("webapp.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            sql = re.sub(r"--[^\n]*", "", entry.read_text())  # comments may say "drop"
            loses_data = r"\bDROP\s+(TABLE|COLUMN)\b|\bDELETE\s+FROM\b|\bDROP\s+\w+\s*;"
            assert not re.search(loses_data, sql, re.I), entry.name


@both_engines
def test_migrate_twice_changes_nothing_and_keeps_data(store_target):
    conn = db.open_store(store_target)
    video_id = video_store.save_video(conn, path="/m.mp4", name="m.mp4", fingerprint="abc", **VIDEO)
    conn.close()
    conn = db.connect(store_target)
    assert db.migrate(conn) == []
    assert video_store.get_video(conn, video_id)["name"] == "m.mp4"


@both_engines
def test_processes_starting_together_migrate_once(store_target):
    """Gunicorn workers (or hosts) starting at once: every one ends on the last version."""
    if not db.is_postgresql(store_target):
        db.open_store(store_target).close()  # the SQLite file's folder and WAL mode first
    errors: list[BaseException] = []

    def start() -> None:
        try:
            db.open_store(store_target).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.schema_version(db.connect(store_target)) == len(db.migrations())


@both_engines
def test_a_store_newer_than_the_app_is_refused(store_target):
    conn = db.open_store(store_target)
    with db.transaction(conn):
        conn.set_schema_version(len(db.migrations()) + 1)
    with pytest.raises(db.StoreError, match="newer"):
        db.migrate(conn)


@both_engines
def test_transaction_rolls_back_on_error(store_target):
    conn = db.open_store(store_target)
    with pytest.raises(RuntimeError), db.transaction(conn):
        conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', 'c')")
        raise RuntimeError
    assert conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0


@both_engines
def test_rows_read_by_name_position_and_as_dict(store_target):
    conn = db.open_store(store_target)
    user_id = users.create_user(conn, "alice", "hash")
    row = users.get_user(conn, user_id)
    assert row["name"] == row[1] == dict(row)["name"] == "alice"
    assert list(row.keys())[:2] == ["id", "name"]
    with pytest.raises(users.UserExists):
        users.create_user(conn, "alice", "other")


@both_engines
def test_named_parameters_and_literal_percent_signs(store_target):
    conn = db.open_store(store_target)
    row = conn.execute(
        "SELECT :a + :b AS total, '100%' AS text, '?' AS mark", {"a": 2, "b": 3}
    ).fetchone()
    assert (row["total"], row["text"], row["mark"]) == (5, "100%", "?")


@both_engines
def test_init_db_command_is_idempotent(runner, app):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0
    assert "up to date" in again.output
    assert PASSWORD not in first.output + again.output  # run.sh's log shows it on every start
    conn = db.connect(app.config["DATABASE"])
    assert db.schema_version(conn) == len(db.migrations())


@both_engines
def test_same_video_twice_is_one_row(store_target):
    conn = db.open_store(store_target)
    first = video_store.save_video(conn, path="/a/m.mp4", name="m.mp4", fingerprint="f", **VIDEO)
    moved = video_store.save_video(conn, path="/b/m.mp4", name="m.mp4", fingerprint="f", **VIDEO)
    assert first == moved
    assert video_store.get_video(conn, first)["path"] == "/b/m.mp4"


@both_engines
def test_rate_limit_counts_every_connection_together(store_target):
    """Each request may come through another connection (worker, host): one count."""
    db.open_store(store_target).close()
    decisions = []
    for _ in range(4):
        conn = db.connect(store_target)
        decisions.append(rate_limits.hit(conn, "client", limit=3, window=60, at=1000.0))
        conn.close()
    assert [d.hits for d in decisions] == [1, 2, 3, 4]
    assert [d.allowed for d in decisions] == [True, True, True, False]


@both_engines
def test_login_throttle_counts_locks_and_forgets(store_target):
    conn = db.open_store(store_target)

    def fail(key: str, at: float) -> int:
        return login_throttle.record_failure(conn, key, limit=3, seconds=100, at=at)

    assert [fail("name:a:x", at) for at in (0, 10, 20)] == [0, 0, 100]
    assert login_throttle.locked_for(conn, "name:a:x", at=20) == 100
    assert login_throttle.locked_for(conn, "name:a:y", at=20) == 0
    assert login_throttle.locked_for(conn, "name:a:x", at=119.5) == 1
    assert login_throttle.locked_for(conn, "name:a:x", at=120) == 0
    # A count is forgotten a window after its first failure...
    assert [fail("address:z", at) for at in (200, 210, 301, 302)] == [0, 0, 0, 0]
    assert fail("address:z", 303) == 100
    # ...and forgetting a prefix lifts the locks under it only.
    assert [fail("name:b:x", at) for at in (300, 301, 302)] == [0, 0, 100]
    login_throttle.forget(conn, "name:b:")
    assert login_throttle.locked_for(conn, "name:b:x", at=303) == 0
    assert login_throttle.locked_for(conn, "address:z", at=303) == 100


def test_copy_from_sqlite_to_postgresql_keeps_every_row_and_id(tmp_path, empty_database):
    source = db.open_store(tmp_path / "old.sqlite3")
    alice = users.create_user(source, "alice", "hash")
    video = video_store.save_video(source, path="/m.mp4", name="m.mp4", fingerprint="f", **VIDEO)
    job = jobs.create_job(source, "train", {"a": 1}, created_by=alice)
    jobs.fail_job(source, job, "an old failure")
    target = db.open_store(empty_database)
    report = copy_store(source, target)
    assert report.rows == count_rows(source)
    assert report.rows["users"] == report.rows["videos"] == report.rows["jobs"] == 1
    assert users.get_user(target, alice)["name"] == "alice"
    assert video_store.get_video(target, video)["path"] == "/m.mp4"
    assert jobs.get_job(target, job)["error"] == "an old failure"
    # New rows get ids after the copied ones, not the copied ids again.
    assert users.create_user(target, "bob", "hash") == alice + 1
    # A second copy into a store that holds data is refused, and changes nothing.
    with pytest.raises(db.StoreError, match="not empty"):
        copy_store(source, target)
    assert count_rows(target)["users"] == 2
    target.close()


def test_the_pool_size_setting_bounds_a_processs_connections(empty_database, monkeypatch):
    """LOOKALIKE_DATABASE_POOL (``db.configure``, set before psycopg is loaded): with 2, a
    third connection at once waits for the pool's timeout and is refused (a busy pool is
    not mistaken for one left broken by an outage and replaced by a new one)."""
    from webapp.store import postgresql

    db.open_store(empty_database).close()
    monkeypatch.setattr(postgresql, "POOL_TIMEOUT", 0.5)
    monkeypatch.setattr(postgresql, "POOL_SIZE", postgresql.POOL_SIZE)  # restored after
    monkeypatch.setattr(db, "_pool_size", None)
    db.configure(pool_size=2)
    held = [db.connect(empty_database), db.connect(empty_database)]
    with pytest.raises(db.OperationalError, match="all 2 connections of this process are in use"):
        db.connect(empty_database)
    held.pop().close()
    third = db.connect(empty_database)  # one was given back: it is taken again
    assert third.execute("SELECT 1").fetchone()[0] == 1
    for conn in (third, *held):
        conn.close()


@pytest.mark.timeout(180)
def test_after_a_long_outage_the_pool_is_back_as_soon_as_the_server(
    postgres_server, empty_database
):
    """While the server is down, each connection attempt fails within the pool's timeout;
    once it is back, the next one succeeds at once, however long the pool had been
    waiting between its own attempts to reconnect."""
    from webapp.store import postgresql

    url = empty_database
    db.open_store(url).close()
    db.connect(url).close()  # this process's pool, connected
    postgres_server.stop_server()
    try:
        down_until = time.monotonic() + 40  # the pool waits 16 s, then 32, between tries
        while time.monotonic() < down_until:
            started = time.monotonic()
            with pytest.raises(db.OperationalError, match="cannot be reached"):
                db.connect(url)
            assert time.monotonic() - started < postgresql.POOL_TIMEOUT + 5
    finally:
        postgres_server.start_server()
    started = time.monotonic()
    conn = db.connect(url)
    assert conn.execute("SELECT 1").fetchone()[0] == 1
    conn.close()
    assert time.monotonic() - started < postgresql.POOL_TIMEOUT + 3

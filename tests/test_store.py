"""The SQLite store: migrations, pragmas, idempotent init-db, no data ever dropped."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

import pytest

from webapp.store import db, login_throttle
from webapp.store import videos as video_store


def test_a_new_store_gets_every_migration(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    assert db.schema_version(conn) == len(db.migrations())
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    needed = {"videos", "extractions", "crops", "label_history", "model_versions", "jobs", "users"}
    assert needed <= tables


def test_pragmas_foreign_keys_and_wal(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError), db.transaction(conn):
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


def test_migrate_twice_changes_nothing_and_keeps_data(tmp_path):
    path = tmp_path / "s.sqlite3"
    conn = db.open_store(path)
    video_id = video_store.save_video(
        conn,
        path="/m.mp4",
        name="m.mp4",
        size_bytes=1,
        fingerprint="abc",
        frame_count=10,
        fps=25.0,
        width=4,
        height=4,
    )
    conn.close()
    conn = db.connect(path)
    assert db.migrate(conn) == []
    assert video_store.get_video(conn, video_id)["name"] == "m.mp4"


def test_a_store_newer_than_the_app_is_refused(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    conn.execute(f"PRAGMA user_version = {len(db.migrations()) + 1}")
    with pytest.raises(db.StoreError, match="newer"):
        db.migrate(conn)


def test_transaction_rolls_back_on_error(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    with pytest.raises(RuntimeError), db.transaction(conn):
        conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('a', 'b', 'c')")
        raise RuntimeError
    assert conn.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0


def test_init_db_command_is_idempotent(runner, app):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["init-db"])
    assert again.exit_code == 0
    assert "up to date" in again.output
    conn = db.connect(app.config["DATABASE"])
    assert db.schema_version(conn) == len(db.migrations())


def test_same_video_twice_is_one_row(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")
    fields = dict(size_bytes=1, fingerprint="f", frame_count=10, fps=25.0, width=4, height=4)
    first = video_store.save_video(conn, path="/a/m.mp4", name="m.mp4", **fields)
    moved = video_store.save_video(conn, path="/b/m.mp4", name="m.mp4", **fields)
    assert first == moved
    assert video_store.get_video(conn, first)["path"] == "/b/m.mp4"


def test_login_throttle_counts_locks_and_forgets(tmp_path):
    conn = db.open_store(tmp_path / "s.sqlite3")

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

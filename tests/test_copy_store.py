"""``copy-store``: the app's whole store into an empty PostgreSQL database (or back into a
SQLite file) with every row and id, and the refusals that leave the target as it was and
never show a password."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import app_on, copy_sqlite_store, log_in, new_app
from tests.postgres import PASSWORD
from tests.servers import free_port
from webapp.store import copy as store_copy
from webapp.store import (
    crop_scores,
    db,
    descriptors,
    jobs,
    labels,
    login_throttle,
    rate_limits,
    users,
)
from webapp.store.settings import set_target_name

ALICE_PASSWORD = "correct horse battery"  # trained_instance's admin


def fill_every_table(conn: db.Connection) -> None:
    """Add to a trained store (admins, crops, labels, model versions) a row in every table
    it has none in yet, blobs with every byte value included, and a worker (never copied)."""
    crop_ids = [row[0] for row in conn.execute("SELECT id FROM crops ORDER BY id LIMIT 3")]
    version = conn.execute("SELECT id FROM model_versions ORDER BY id DESC").fetchone()[0]
    bob = users.create_user(conn, "bob", "a hash")
    set_target_name(conn, "Patrick Bateman")
    labels.skip_crop(conn, crop_ids[0], bob)
    failed = jobs.create_job(conn, "train", {"preset": "seed"}, created_by=bob)
    jobs.fail_job(conn, failed, "an old failure")
    crop_scores.save_crop_scores(conn, version, [(crop_ids[0], 12.5), (crop_ids[1], 87.25)])
    descriptors.save_descriptors(conn, "dlib-resnet", [(crop_ids[0], bytes(range(256)))])
    rate_limits.hit(conn, "203.0.113.7", limit=30, window=60)
    login_throttle.record_failure(conn, "address:abc", limit=20, seconds=900)
    with db.transaction(conn):
        assert conn.execute("SELECT COUNT(*) FROM model_files").fetchone()[0] >= 4  # trained
        other = conn.execute("SELECT MAX(id) FROM crops WHERE label = 'not_target'").fetchone()
        conn.execute(  # bytes of every value, beside the target's picture training published
            "INSERT INTO published_pictures (crop_id, content, published_at) VALUES (?, ?, ?)",
            (other[0], b"\x89PNG\r\n\x1a\n\x00\xff" + bytes(range(256)), db.now()),
        )
        conn.execute(
            "INSERT INTO workers (host, pid, started_at, seen_at) VALUES (?, ?, ?, ?)",
            ("old-host", 4242, db.now(), db.now()),
        )


def every_row(conn: db.Connection) -> dict[str, list[tuple]]:
    """Each copied table's rows, in an order both engines agree on."""
    return {
        table: sorted((tuple(row) for row in conn.execute(f"SELECT * FROM {table}")), key=repr)
        for table in store_copy.TABLES
    }


@pytest.fixture
def sqlite_app(tmp_path, trained_instance):
    """An app on a SQLite copy of ``trained_instance`` with a row in every table."""
    app = app_on(tmp_path, trained_instance, DATABASE_URL=None)
    conn = db.connect(app.config["DATABASE"])
    try:
        fill_every_table(conn)
    finally:
        conn.close()
    return app


def rows_of(database: str | Path) -> dict[str, list[tuple]]:
    conn = db.connect(database, pooled=False)
    try:
        return every_row(conn)
    finally:
        conn.close()


def test_copy_store_moves_everything_to_postgresql(sqlite_app, empty_database):
    before = rows_of(sqlite_app.config["DATABASE"])
    assert all(before.values()), "every table holds rows: the copy of each is tested"
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", empty_database])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-1] == (
        f"Matched: every table holds the same {sum(map(len, before.values()))} rows in both stores."
    )
    for table, rows in before.items():  # source and target side by side
        assert f"{table} {len(rows)} {len(rows)}" in [" ".join(line.split()) for line in lines]
    assert PASSWORD not in result.output  # the URL is printed masked
    assert rows_of(empty_database) == before  # every row, every id, every byte
    assert rows_of(sqlite_app.config["DATABASE"]) == before  # the source is untouched
    conn = db.connect(empty_database, pooled=False)
    assert conn.execute("SELECT COUNT(*) FROM workers").fetchone()[0] == 0  # old host's
    conn.close()

    # The app started on the PostgreSQL URL: the same admin, the same model, new ids after
    # the copied ones.
    root = Path(sqlite_app.config["INSTANCE"]).parent
    app = new_app(root, DATABASE_URL=empty_database, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    assert log_in(client, "alice", ALICE_PASSWORD).status_code == 302
    assert log_in(app.test_client(), "alice", "not her password").status_code != 302
    health = client.get("/healthz")
    assert health.status_code == 200, health.json
    assert health.json["model"] is not None
    with app.app_context():
        from webapp.context import get_db

        carol = users.create_user(get_db(), "carol", "a hash")
    assert carol == max(row[0] for row in before["users"]) + 1


def test_a_second_copy_into_the_same_database_is_refused_and_changes_nothing(
    sqlite_app, empty_database
):
    runner = sqlite_app.test_cli_runner()
    assert runner.invoke(args=["copy-store", "--to", empty_database]).exit_code == 0
    copied = rows_of(empty_database)
    source = db.connect(sqlite_app.config["DATABASE"])
    users.create_user(source, "dave", "a hash")  # something new the second copy would bring
    source.close()

    result = runner.invoke(args=["copy-store", "--to", empty_database])
    assert result.exit_code != 0
    assert "not empty" in result.output and "copy into a new database" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert PASSWORD not in result.output
    assert rows_of(empty_database) == copied


def test_an_unreachable_server_is_named_and_its_password_never_shown(sqlite_app):
    port = free_port()  # nothing listens there
    url = f"postgresql://lookalike:Very-Secret-9@127.0.0.1:{port}/lookalike"
    before = rows_of(sqlite_app.config["DATABASE"])
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", url])
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert f"cannot connect to postgresql://lookalike:***@127.0.0.1:{port}/lookalike" in (
        result.output
    )
    assert "Very-Secret-9" not in result.output
    assert rows_of(sqlite_app.config["DATABASE"]) == before


def test_a_wrong_password_is_refused_without_showing_it(sqlite_app, empty_database):
    wrong = empty_database.replace(f":{PASSWORD}@", ":Wr0ng-pw@")
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", wrong])
    assert result.exit_code != 0
    assert "password authentication failed" in result.output
    assert "Wr0ng-pw" not in result.output
    conn = db.connect(empty_database, pooled=False)
    assert conn.schema_version() == 0  # untouched: not even the schema was made
    conn.close()


def test_the_password_may_come_from_pgpass_or_pgpassword(sqlite_app, empty_database, monkeypatch):
    """libpq's own ways of keeping the password off the command line."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    without = empty_database.replace(f":{PASSWORD}@", "@")
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", without])
    assert result.exit_code == 0, result.output
    assert rows_of(empty_database)["users"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("mysql://u:pw@db/look", "cannot copy to a mysql:// URL"),
        ("sqlite:///tmp/x.sqlite3", "cannot copy to a sqlite:// URL"),
        ("{tmp}", "is a folder"),
        ("{store}", "is the app's own store"),
        ("", "say where to copy"),
    ],
)
def test_only_a_postgresql_url_or_a_new_sqlite_file_is_a_target(
    sqlite_app, tmp_path, target, message
):
    target = target.format(tmp=tmp_path, store=sqlite_app.config["DATABASE"])
    before = sorted(p.name for p in tmp_path.iterdir())
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", target])
    assert result.exit_code != 0
    assert message in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_copy_back_from_postgresql_into_a_sqlite_file(tmp_path, trained_instance, empty_database):
    """A backup, or moving back to one host: the app on PostgreSQL copies into a file."""
    source = app_on(tmp_path, trained_instance, DATABASE_URL=None)
    conn = db.connect(source.config["DATABASE"])
    fill_every_table(conn)
    conn.close()
    copy_sqlite_store(Path(source.config["DATABASE"]), empty_database)
    root = Path(source.config["INSTANCE"]).parent
    on_postgresql = new_app(root, DATABASE_URL=empty_database, WTF_CSRF_ENABLED=False)
    before = rows_of(empty_database)

    back = tmp_path / "backup" / "lookalike.sqlite3"
    result = on_postgresql.test_cli_runner().invoke(args=["copy-store", "--to", str(back)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("Matched:")
    assert rows_of(back) == before

    on_file = new_app(root, DATABASE=str(back), WTF_CSRF_ENABLED=False)
    assert on_file.config["DATABASE"] == str(back)
    assert log_in(on_file.test_client(), "alice", ALICE_PASSWORD).status_code == 302


def test_json_output_and_a_copy_read_in_small_pages(sqlite_app, tmp_path, monkeypatch):
    monkeypatch.setattr(store_copy, "BATCH", 3)  # many pages per table
    monkeypatch.setattr(store_copy, "SMALL_BATCHES", {})
    target = tmp_path / "copy.sqlite3"
    result = sqlite_app.test_cli_runner().invoke(args=["copy-store", "--to", str(target), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    before = rows_of(sqlite_app.config["DATABASE"])
    assert report["matched"] is True
    assert report["source"] == sqlite_app.config["DATABASE"] and report["target"] == str(target)
    assert report["migrations_applied"][0] == "0001_initial.sql"
    assert report["tables"] == {
        table: {"source": len(rows), "target": len(rows)} for table, rows in before.items()
    }
    assert report["total"] == sum(map(len, before.values()))
    assert rows_of(target) == before


# --- The operation on its own: the source's schema, the step before the copy ---


def test_a_source_at_another_schema_version_is_refused(tmp_path):
    from webapp.operations.store_copy import CopyRefused, copy_to

    newer = tmp_path / "newer.sqlite3"
    conn = db.open_store(newer)
    conn.set_schema_version(len(db.migrations()) + 1)
    conn.close()
    target = tmp_path / "target.sqlite3"
    with pytest.raises(CopyRefused, match="newer than this app knows"):
        copy_to(newer, str(target))
    older = tmp_path / "older.sqlite3"
    db.connect(older).close()  # a file at schema version 0
    with pytest.raises(CopyRefused, match="older than this app's.*init-db"):
        copy_to(older, str(target))
    assert not target.exists()


def test_the_step_before_the_copy_runs_on_the_source_and_travels_with_it(tmp_path):
    from webapp.operations.store_copy import CopyRefused, copy_to

    source = tmp_path / "source.sqlite3"
    db.open_store(source).close()
    seen = []

    def publish(conn: db.Connection) -> None:
        seen.append(conn.schema_version())
        set_target_name(conn, "published before the copy")

    copy = copy_to(source, str(tmp_path / "a.sqlite3"), before_copy=publish)
    assert seen == [len(db.migrations())] and copy.target_rows["settings"] == 1
    assert rows_of(tmp_path / "a.sqlite3")["settings"][0][1] == "published before the copy"

    # A target that cannot take the copy is refused before the step changes the source.
    seen.clear()
    with pytest.raises(CopyRefused, match="not empty"):
        copy_to(source, str(tmp_path / "a.sqlite3"), before_copy=publish)
    assert seen == []

    # The step may refuse; a file the copy made is removed then.
    def refuse(conn: db.Connection) -> None:
        raise CopyRefused("the model files are missing")

    with pytest.raises(CopyRefused, match="the model files are missing"):
        copy_to(source, str(tmp_path / "b.sqlite3"), before_copy=refuse)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sqlite3", "source.sqlite3"]


# --- The store: every table copied, pages in key order, a snapshot of the source ---


def test_every_table_is_copied_or_said_not_to_be(tmp_path):
    conn = db.open_store(tmp_path / "store.sqlite3")
    tables = {
        row[0]
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    }
    assert tables == set(store_copy.TABLES) | set(store_copy.NOT_COPIED)
    for table, key in store_copy.TABLES.items():  # pages are read in primary key order
        info = conn.execute(f"PRAGMA table_info({table})").fetchall()
        primary = [row["name"] for row in sorted(info, key=lambda r: r["pk"]) if row["pk"]]
        assert key.split(", ") == primary, table
    conn.close()


@pytest.mark.usefixtures("database")
def test_a_snapshot_reads_what_was_there_when_it_began(store_target):
    reader, writer = db.open_store(store_target), db.connect(store_target, pooled=False)
    try:
        users.create_user(writer, "alice", "a hash")
        with db.snapshot(reader):
            users.create_user(writer, "bob", "a hash")
            assert reader.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
        assert reader.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 2
    finally:
        reader.close()
        writer.close()


def test_a_copied_install_serves_hosts_without_its_folders(
    tmp_path, trained_instance, empty_database, astronaut_rgb
):
    """An install from before versions and pictures lived in the store: copy-store puts
    them in on the way, so a host with only the URL scores and shows the target."""
    from tests.conftest import forget_model_files
    from tests.test_public import jpeg, post_photo

    old = app_on(tmp_path / "old", trained_instance, DATABASE_URL=None)
    conn = db.connect(old.config["DATABASE"])
    for row in conn.execute("SELECT directory FROM model_versions").fetchall():
        forget_model_files(old, row["directory"])
    with db.transaction(conn):
        conn.execute("DELETE FROM published_pictures")
    conn.close()
    expected = post_photo(old.test_client(), jpeg(astronaut_rgb)).get_json()

    result = old.test_cli_runner().invoke(args=["copy-store", "--to", empty_database])
    assert result.exit_code == 0, result.output

    host = app_on(
        tmp_path / "new", None, DATABASE_URL=empty_database, CROPS_DIR=str(tmp_path / "none")
    )
    assert not any(Path(host.config["MODELS_DIR"]).glob("v*"))
    client = host.test_client()
    scored = post_photo(client, jpeg(astronaut_rgb)).get_json()
    assert scored["model_version"] == expected["model_version"]
    assert scored["look_alike_percent"] == expected["look_alike_percent"]
    picture = client.get("/target-picture")
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")

"""A real, throwaway PostgreSQL server for the tests: Debian's ``postgresql`` package
(``./test.sh`` installs it when missing), a cluster in a temporary folder, on a free
loopback port, run as the unprivileged ``postgres`` user when the tests run as root,
stopped (and its folder removed) when the session ends.

Each test that asks for it gets a database of its own (``CREATE DATABASE``), dropped
afterwards.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.servers import free_port

USER = "lookalike"
PASSWORD = "test-only-password"


def binaries() -> Path | None:
    """The newest installed server's bin folder (``/usr/lib/postgresql/N/bin``)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """One cluster, started by :meth:`start`, stopped by :meth:`stop`."""

    def __init__(self) -> None:
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError(
                "PostgreSQL's server is not installed: ./test.sh installs Debian's"
                " postgresql package (apt-get install -y postgresql)"
            )
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="lookalike-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self._counter = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            owner = pwd.getpwnam("postgres")
            self.root.chmod(0o755)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self._as_user, *args], check=True, capture_output=True, text=True, cwd="/"
        )

    def start(self) -> PostgresServer:
        password_file = self.root / "password"
        password_file.write_text(PASSWORD)
        if self._as_user:
            owner = pwd.getpwnam("postgres")
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D", str(self.data),
            "-U", USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        )  # fmt: skip
        self._run("mkdir", "-p", str(self.sockets))
        options = " ".join(
            (
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.sockets}",
                # A test server: durability is not what is tested, speed is welcome.
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                "-c max_connections=200",
            )
        )
        self._options = options
        self.start_server()
        return self

    def start_server(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D", str(self.data),
            "-l", str(self.root / "server.log"),
            "-o", self._options,
            "-w", "-t", "60",
            "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def new_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its URL."""
        name = f"test_{os.getpid()}_{next(self._counter)}"
        with self.admin() as conn:
            clause = f" TEMPLATE {template}" if template else ""
            conn.execute(f"CREATE DATABASE {name}{clause}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (fast: clients are cut off), wait, start it again."""
        self.stop_server()
        time.sleep(down_seconds)
        self.start_server()

    def stop_server(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.stop_server()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

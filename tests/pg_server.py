"""A throwaway PostgreSQL server for tests: installed if missing, started on a free port, stopped after.

Works on a fresh Debian 12 machine run as root (CI): if no ``postgres`` binary is found
under /usr/lib/postgresql, the Debian ``postgresql`` package is installed with apt-get
(without creating or starting the packaged ``main`` cluster). The server runs from a
temporary data directory as the ``postgres`` user when started as root (PostgreSQL
refuses to run as root), or as the current user otherwise, listens on 127.0.0.1 and a
Unix socket in the data directory only, trusts local connections, and is removed with
its data at :meth:`PostgresServer.stop`.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DB_NAME = "pbr_test"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be installed or started here (the test is skipped with this reason)."""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def find_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has a postgres binary."""

    def version(p: str) -> int:
        part = Path(p).parts[-3]
        return int(part) if part.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=version)
    return Path(found[-1]).parent if found else None


def install_postgres() -> Path:
    """Install Debian's postgresql package (root only) and return its bin directory."""
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
        )
    # do not let the package create and start its own cluster on port 5432
    conf = Path("/etc/postgresql-common/createcluster.d")
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "pbr-tests-no-main-cluster.conf").write_text("create_main_cluster = false\n")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        _run(["apt-get", "update"], env=env, timeout=600)
        _run(
            ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
            env=env,
            timeout=1200,
        )
    except subprocess.CalledProcessError as e:
        raise PostgresUnavailable(f"apt-get failed: {e.stderr[-2000:]}") from e
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("the postgresql package installed no /usr/lib/postgresql/*/bin/postgres")
    return bindir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL server in a temporary directory; use :meth:`start` then :meth:`stop`."""

    def __init__(self) -> None:
        self.bindir = install_postgres()
        self.as_root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="pbr-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.log = self.base / "server.log"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        if self.as_root:
            shutil.chown(self.base, user="postgres", group="postgres")

    def _cmd(self, *args: str) -> list[str]:
        """A command run as the postgres user when we are root."""
        return ["runuser", "-u", "postgres", "--", *args] if self.as_root else list(args)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def start(self, timeout: float = 60) -> PostgresServer:
        self.sock.mkdir()
        if self.as_root:
            shutil.chown(self.sock, user="postgres", group="postgres")
        _run(
            self._cmd(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ),
            timeout=300,
        )
        self.port = free_port()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self._cmd(
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.data),
                    "-k",
                    str(self.sock),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout)
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres") as conn:
            conn.autocommit = True
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        return self

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise PostgresUnavailable(f"postgres exited at start:\n{self.log.read_text()[-3000:]}")
            try:
                with psycopg.connect(
                    host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
                ):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(
                        f"postgres did not accept connections in {timeout}s:\n{self.log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.2)

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _signal(self, pid: int | None, sig: int) -> None:
        """Signal our postmaster, or failing its pid, the process group we started it in."""
        try:
            if pid is not None:
                os.kill(pid, sig)
            elif self.proc is not None:
                os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Fast shutdown of the server this object started, then remove its files."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                pid = self._postmaster_pid()
                self._signal(pid, signal.SIGINT)  # "fast" shutdown: roll back, disconnect, exit
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._signal(pid, signal.SIGQUIT)  # immediate shutdown
                    self.proc.wait(timeout=30)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

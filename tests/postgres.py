"""A throwaway PostgreSQL server for the target-postgres test, started by the suite itself
from Debian's postgresql package (`make test` installs it when missing)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} was not found: install Debian's postgresql package "
                           "(make test does that when run as root)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields (host, port, user). PostgreSQL refuses to run as root, so as root it runs as
    the `postgres` system user that Debian's package creates."""
    as_user = []
    user = pwd.getpwuid(os.getuid()).pw_name
    base = Path(tempfile.mkdtemp(prefix="tap-close-pg-"))
    if os.getuid() == 0:
        user = "postgres"
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", user, "--"]
    data, port = base / "data", _free_port()
    run = lambda argv: subprocess.run(as_user + argv, check=True, capture_output=True, text=True)
    run([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", user, "--no-sync"])
    run([_pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"),
         "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    try:
        yield "127.0.0.1", port, user
    finally:
        subprocess.run(as_user + [_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

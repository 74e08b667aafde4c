"""A throwaway PostgreSQL server for the target-postgres test, started and stopped by the
test itself from the PostgreSQL binaries that the `pgserver` wheel ships (setup.py's `dev`
extra installs it, so `make test` needs no system package and no root).

pgserver's own Python layer is not used: it listens on a Unix socket only (target-postgres
needs host and port), and as root it makes every parent folder of the virtualenv readable
by all. Only its binaries are, from the layout of its wheel: `pgserver/pginstall/{bin,lib,share}`
plus, on Linux, the shared libraries auditwheel put beside it in `pgserver.libs/`.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

WHEEL_PACKAGE = "pgserver"
SUPERUSER = "postgres"          # the database role the test connects as, whoever runs the server
# PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not permitted").
# As root the server runs as `nobody`, which every Linux and macOS has: no account is created.
UNPRIVILEGED_USER = "nobody"


def _wheel_trees() -> list[Path]:
    """The wheel's package folder and its bundled-libraries folder, [] when not installed."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    libs = package.parent / f"{WHEEL_PACKAGE}.libs"
    return [package] + ([libs] if libs.is_dir() else [])


def _bin_dir_in(trees: list[Path]) -> Path:
    return trees[0] / "pginstall" / "bin"


def _system_bin_dir() -> Path:
    # Platforms the wheel has no build for (see setup.py) can still use a PostgreSQL on PATH.
    found = shutil.which("initdb")
    if not found:
        raise RuntimeError(f"no PostgreSQL found: install the test dependencies (pip install -e '.[dev]', "
                           f"which brings the {WHEEL_PACKAGE} wheel) or put PostgreSQL's bin folder on PATH")
    return Path(found).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_user(name: str) -> dict:
    """subprocess arguments that drop root to `name`: its uid, its group and no other group
    (`user=` alone would keep root's groups)."""
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextmanager
def postgres_server():
    """Yields (host, port, user) of a fresh server on 127.0.0.1 with trust authentication,
    its client tools (psql) first on PATH while it runs; stops it and deletes its files after."""
    base = Path(tempfile.mkdtemp(prefix="tap-close-pg-"))
    trees = _wheel_trees()
    client_bin = _bin_dir_in(trees) if trees else _system_bin_dir()
    server_bin, drop_root = client_bin, {}
    if os.getuid() == 0:
        drop_root = _as_user(UNPRIVILEGED_USER)
        os.chown(base, drop_root["user"], drop_root["group"])
        if trees:
            # The virtualenv may sit under a folder only root can enter (/root): a copy in the
            # server's own folder is readable by it, with the wheel's relative layout kept.
            for tree in trees:
                shutil.copytree(tree, base / "install" / tree.name, symlinks=True)
            server_bin = _bin_dir_in([base / "install" / trees[0].name])
    data, port = base / "data", _free_port()

    def run(program: str, *args: str, check: bool = True) -> None:
        result = subprocess.run([str(server_bin / program), *args], capture_output=True, text=True,
                                cwd=base, **drop_root)
        if check and result.returncode != 0:
            log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL's {program} failed ({result.returncode}): "
                               f"{result.stderr.strip()}\n{log[-2000:]}")

    saved_path = os.environ.get("PATH", "")
    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync")
        run("pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"),
            "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        os.environ["PATH"] = os.pathsep.join([str(client_bin), saved_path])
        yield "127.0.0.1", port, SUPERUSER
    finally:
        os.environ["PATH"] = saved_path
        if (data / "postmaster.pid").exists():
            run("pg_ctl", "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)

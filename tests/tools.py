"""Real Singer targets and tools, each installed from the package registry into its own
virtualenv under `.venv-tools/` (their pins conflict with each other and with the tap)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS_DIR = ROOT / ".venv-tools"
TOOLS = {
    "target-jsonl": ["target-jsonl==0.1.4"],
    "target-csv": ["meltanolabs-target-csv==0.5.0"],
    # duckdb>=1.3 makes target-duckdb drop the first row of every batch (jwills/target-duckdb#58).
    "target-duckdb": ["target-duckdb==0.8.0", "duckdb<1.3"],
    "target-postgres": ["meltanolabs-target-postgres==0.8.1"],
    "singer-tools": ["singer-tools==0.4.1"],
    "meltano": ["meltano==4.4.1"],
}
_lock = threading.Lock()
_locks: dict[str, threading.Lock] = {}


def tool_venv(name: str) -> Path:
    """The virtualenv of one tool, created and installed on first use."""
    with _lock:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:
        venv = TOOLS_DIR / name
        stamp = venv / ".installed"
        spec = "\n".join(TOOLS[name])
        if stamp.exists() and stamp.read_text() == spec:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        result = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", *TOOLS[name]],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"installing {name} failed:\n{result.stderr[-3000:]}")
        stamp.write_text(spec)
        return venv


def install_all(names) -> dict[str, Path]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(names, pool.map(tool_venv, names)))


def bin_path(name: str, executable: str) -> str:
    return str(tool_venv(name) / "bin" / executable)


def pipe(tap_argv, target_argv, cwd, env=None, timeout=600):
    """tap | target, as a shell pipeline would run them; returns (tap, target) results."""
    env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as tap_log:   # a pipe could fill up and stall the tap
        tap = subprocess.Popen(tap_argv, stdout=subprocess.PIPE, stderr=tap_log, cwd=cwd, env=env)
        target = subprocess.Popen(target_argv, stdin=tap.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  cwd=cwd, env=env)
        tap.stdout.close()
        target_out, target_err = target.communicate(timeout=timeout)
        tap.wait(timeout=timeout)
        tap_log.seek(0)
        tap_err = tap_log.read().decode()
    return (tap.returncode, tap_err), (target.returncode, target_out.decode(), target_err.decode())

"""Runs `tap-close` as a user would (a subprocess) and parses what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TapRun:
    returncode: int
    stdout: str
    stderr: str
    messages: list = field(default_factory=list)

    def of_type(self, kind):
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream=None):
        return [m["record"] for m in self.of_type("RECORD") if stream is None or m["stream"] == stream]

    def ids(self, stream):
        return {r["id"] for r in self.records(stream)}

    def schemas(self):
        return {m["stream"]: m for m in self.of_type("SCHEMA")}

    @property
    def final_state(self):
        return self.of_type("STATE")[-1]["value"]


def tap_config(sb, start: str, **extra) -> dict:
    """The tap's config for a sandbox organization."""
    return {"api_key": sb.api_key, "start_date": start, "base_url": sb.url, **extra}


def select(catalog: dict, streams, deselect=()) -> dict:
    """A copy of `catalog` with only `streams` selected, and the (stream, field) pairs of
    `deselect` left out."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in streams
            elif (entry["tap_stream_id"], item["breadcrumb"][-1]) in deselect:
                item["metadata"]["selected"] = False
    return catalog


def write_json(path: Path, value) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def run_tap(args, tmp_path: Path, config=None, state=None, catalog=None, env=None, timeout=300) -> TapRun:
    argv = [sys.executable, "-m", "tap_close", *args]
    if config is not None:
        argv += ["--config", write_json(tmp_path / "config.json", config)]
    if state is not None:
        argv += ["--state", write_json(tmp_path / "state.json", state)]
    if catalog is not None:
        argv += ["--catalog", write_json(tmp_path / "catalog.json", catalog)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parent.parent)
    return TapRun(proc.returncode, proc.stdout, proc.stderr, _messages(proc.stdout))


def _messages(stdout: str) -> list:
    """Singer messages, one per line; [] when stdout is something else (a catalog, --about)."""
    try:
        messages = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    except json.JSONDecodeError:
        return []
    return messages if all(isinstance(m, dict) and "type" in m for m in messages) else []


def run_in_process(args, tmp_path: Path, capsys, config=None, state=None) -> TapRun:
    """Runs the CLI in this process (so a test can monkeypatch timings), output via capsys."""
    from tap_close import cli
    argv = list(args)
    if config is not None:
        argv += ["--config", write_json(tmp_path / "config.json", config)]
    if state is not None:
        argv += ["--state", write_json(tmp_path / "state.json", state)]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return TapRun(code, out, err, _messages(out))

"""Benchmark: tap-close against the sandbox, on evenly spread and on skewed data, beside
singer-io's tap-closeio 1.6.6.

Two organizations are generated from the same seed and size: one with its records spread
evenly over the period, one skewed as real accounts are (the sandbox's `--skew`, from issue
#15's description of real accounts: an import day holding about a quarter of the period's
activities, one-minute bursts, more in recent months; close_sandbox/skew.py). Each is served
with latency and per-group rate limits, and every figure is printed for both, side by side:

- **Backfill.** tap-close with every stream selected (as a Meltano user with `'*.*'` has it),
  discovery first (not measured), then `--repeat` syncs from scratch (3): the medians, each
  run's figure beside them (single runs on a shared machine move by 5-10%). Wall time and its
  ratio to the rate-limit bound, CPU per record (against the JSON baseline and tap-closeio),
  peak memory, requests per endpoint group and per stream (the tap's `--summary-json`), 429s.
- **tap-closeio 1.6.6** on the six streams it has, once (about a minute a run).
- **Incremental, nothing changed.** A sync from the last backfill's final STATE, with the
  default selection (what a user gets: every stream but sequence_subscriptions) as the
  headline, then with every stream: wall time, records, and every request accounted for by
  what it reads (the sandbox's request log), beside the least a correct tap needs for it
  (`least_requests`).
- **Kill and resume.** A backfill killed (SIGKILL) once it has emitted half the records, its
  output read to the end (what a target behind the pipe receives), then a sync from the last
  STATE it emitted: the share of the killed run's records the resumed run emits again, and
  any record of the backfill that neither run emitted.
- **JSON baseline.** The CPU of parsing every page a perfect client reads and dumping every
  record with the standard json module (limits and latency off by then).
- **Peak memory** at N and 4N records (limits and latency off).

The rate-limit bound is the least time any client could take: per endpoint group, the requests
a perfect client needs (every list a stream reads, read once at Close's largest page, without
date windows or probes: the JSON baseline's walk is that client), those beyond the first burst
at the allowed rate; the busiest group sets it, plus one round trip. tap-closeio's bound is the
same for its six streams.

    .venv/bin/python bench/run.py                                     # the README's figures, ~15 min on 2 cores
    .venv/bin/python bench/run.py --leads 500 --repeat 1 --skip-closeio   # quick mode, about a minute
    .venv/bin/python bench/run.py --shared-streams                    # tap-close on tap-closeio's six only
    .venv/bin/python bench/run.py --tap-src /tmp/old                  # the tap_close/ package in /tmp/old

On a machine with two or more CPUs the tap under test runs on CPU 0 and everything else (the
sandbox, this script reading the tap's output, the JSON baseline) on the others: Close's
servers are not on the user's machine, and a sandbox building pages on the tap's core would
compete with it for that core (`--no-pin` lets them share). Each measured sync starts once the
rate limit buckets have refilled, so that every run has the burst the bound assumes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

try:
    from orjson import loads as parse_json     # the tap's own dependency: a faster reader
except ImportError:
    parse_json = json.loads

# This checkout's stream registry: what each stream is (read whole every run or in date
# windows) and which event object types it replays, for the incremental run's accounting.
from tap_close.streams import STREAMS as TAP_STREAMS
from tap_close.streams.base import LATE_VISIBILITY, StreamContext
from tap_close.streams.changes import RESCAN
from tap_close.streams.full_scan import FullScanStream
from tap_close.timeutil import format_datetime, parse_datetime

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENVS = ROOT / ".venv-bench"
KEY = "bench-key"
DATA = {"even": False, "skewed": True}      # the two organizations: name -> the sandbox's skew
# Largest page Close serves per endpoint group; the sandbox enforces the same maxima
# (close_sandbox/params.py MAX_LIMITS; `_limit` 1-200 for /data/search/, §Q1 of
# close-api-search-and-shapes.md; 100 for every other list).
PAGE = {"activity": 100, "data": 200, "lead": 200, "task": 1000, "user": 1000, "custom_field": 1000,
        "event": 50, "opportunity": 250, "contact": 100}
OTHER_PAGE = 100
# Endpoint group of every tap-close stream: the first segment of its path (tap_close/streams/*.py
# `path`), which is how Close groups its rate limits and the sandbox counts them.
STREAM_GROUP = {
    "activities": "activity", "custom_activities": "activity", "leads": "data", "contacts": "data",
    "custom_objects": "data", "tasks": "task", "event_log": "event", "opportunities": "opportunity",
    "users": "user", "custom_fields": "custom_field", "lead_statuses": "status", "opportunity_statuses": "status",
    "pipelines": "pipeline", "custom_activity_types": "custom_activity", "custom_object_types": "custom_object_type",
    "sequences": "sequence", "sequence_subscriptions": "sequence_subscription", "email_templates": "email_template",
    "sms_templates": "sms_template", "roles": "role", "groups": "group", "smart_views": "saved_search",
    "phone_numbers": "phone_number"}
# tap-closeio's streams and the groups it reads them from (leads from GET /lead/).
CLOSEIO_GROUP = {"activities": "activity", "leads": "lead", "tasks": "task", "users": "user",
                 "custom_fields": "custom_field", "event_log": "event"}
SEARCH_OBJECT = {"leads": "lead", "contacts": "contact", "custom_objects": "custom_object"}
# The offset-paged lists each stream reads: (path, params). Custom fields: one list per object
# type; templates: archived and not (Close hides the archived ones otherwise: org_tables.py);
# smart views: every type (lead views only otherwise). Sequence subscriptions and groups are
# read per sequence and per group (perfect_walk).
OFFSET_LISTS = {
    "activities": [("activity", {})], "custom_activities": [("activity/custom", {})],
    "tasks": [("task", {"_type": "all"})], "opportunities": [("opportunity", {})], "users": [("user", {})],
    "custom_fields": [(f"custom_field/{t}", {}) for t in
                      ("lead", "contact", "opportunity", "activity", "shared", "custom_object_type")],
    "lead_statuses": [("status/lead", {})], "opportunity_statuses": [("status/opportunity", {})],
    "pipelines": [("pipeline", {})], "custom_activity_types": [("custom_activity", {})],
    "custom_object_types": [("custom_object_type", {})], "sequences": [("sequence", {})],
    "email_templates": [("email_template", {"is_archived": "false"}), ("email_template", {"is_archived": "true"})],
    "sms_templates": [("sms_template", {})], "roles": [("role", {})], "groups": [("group", {})],
    "smart_views": [("saved_search", {"type__in": "lead,contact,opportunity,call,email,sms,meeting,note,"
                                                  "whatsapp_message,custom_activity,form_submission"})],
    "phone_numbers": [("phone_number", {})]}

# The incremental run's accounting: each request of the tap goes to what it reads (a stream,
# or one of the run's shared reads), from the sandbox's request log.
CLOCK = "(Close's clock: GET /me/)"
REPLAY_WALK = "(event replays' shared walk)"
SEARCH_STREAM = {object_type: stream for stream, object_type in SEARCH_OBJECT.items()}
EXACT_EVENT_STREAM = {object_type: name for name, stream in TAP_STREAMS.items()
                      for object_type in stream.event_object_types if not object_type.endswith(".")}
GROUP_STREAM = {group: stream for stream, group in STREAM_GROUP.items()
                if list(STREAM_GROUP.values()).count(group) == 1}


# -- the sandbox --------------------------------------------------------------------------
class Sandbox:
    """The sandbox in its own process, on the CPUs this script runs on."""

    def __init__(self, args, leads, skew, latency, rate, burst):
        argv = [sys.executable, "-m", "close_sandbox", "--port", "0", "--api-key", KEY, "--seed", str(args.seed),
                "--leads", str(leads), "--activities-per-lead", str(args.activities_per_lead),
                "--events", str(args.events), "--days", str(args.days), "--latency", str(latency), "--quiet"]
        if rate:
            argv += ["--rate", str(rate), "--burst", str(burst)]
        if skew:
            argv.append("--skew")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.root = self.url[: -len("/api/v1")]

    def stats(self):
        return requests.get(self.root + "/_sandbox/stats", timeout=30).json()

    def requests_since(self, since: int) -> tuple[list[dict], int]:
        """The request log's entries from `since` on, and how many entries it holds."""
        answer = requests.get(self.root + "/_sandbox/requests", params={"since": since}, timeout=30).json()
        return answer["requests"], answer["total"]

    def unlimited(self):
        """Limits and latency off (close_sandbox/control.py), for what is not paced by Close."""
        requests.post(self.root + "/_sandbox/limits", json={"rate": None}, timeout=30).raise_for_status()
        requests.post(self.root + "/_sandbox/faults", json={"latency": 0}, timeout=30).raise_for_status()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def venv_with(name: str, packages: list[str]) -> Path:
    venv = BENCH_VENVS / name
    stamp = venv / ".installed"
    if not (stamp.exists() and stamp.read_text() == " ".join(packages)):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *packages], check=True)
        stamp.write_text(" ".join(packages))
    return venv


# -- CPU placement --------------------------------------------------------------------------
TAP_CPUS: set[int] | None = None   # where the tap under test runs (see the module docstring)


def pin_cpus(enabled: bool) -> str:
    """Moves this process (and so the sandbox it starts) off CPU 0, which is kept for the
    tap under test. Returns a line for the report."""
    global TAP_CPUS
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not enabled or len(cpus) < 2:
        return "tap and sandbox share the CPUs" + ("" if enabled else " (--no-pin)")
    TAP_CPUS = {cpus[0]}
    os.sched_setaffinity(0, set(cpus[1:]))
    return f"tap on CPU {cpus[0]}, sandbox and this script on CPU {','.join(map(str, cpus[1:]))}"


def _on_tap_cpus():
    if TAP_CPUS:
        os.sched_setaffinity(0, TAP_CPUS)


# -- running a tap ----------------------------------------------------------------------------
class PeakMemory:
    """The process's own high-water mark (VmHWM), read from /proc while it runs. The child's
    ru_maxrss from wait4 would include the benchmark's own memory, copied at fork."""

    def __init__(self, pid):
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass

    def _poll(self):
        while not self.done.wait(0.05):
            self._read()

    def stop(self):
        self._read()  # the reader saw end of output: the process is finishing, not yet reaped
        self.done.set()
        self.thread.join()
        return self.peak_kb / 1024


def _stream_of(line: bytes) -> str:
    start = line.index(b'"stream":') + 9
    start = line.index(b'"', start) + 1
    return line[start:line.index(b'"', start)].decode()


def run_measured(argv, cwd, env=None, kill_after=None, keep_ids=False):
    """Runs a tap to its end (or SIGKILLs it once `kill_after` records are out, then reads what
    it had written). Returns wall, CPU, peak RSS, records per stream, the last STATE's value
    and, with keep_ids, {stream: set of record ids}."""
    stderr = tempfile.TemporaryFile()
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr,
                            env={**os.environ, **(env or {})}, preexec_fn=_on_tap_cpus)
    peak = PeakMemory(proc.pid)
    counts: dict[str, int] = {}
    ids: dict[str, set] = {}
    state_line, total, killed = None, 0, False
    for line in proc.stdout:
        if not line.endswith(b"\n"):
            break       # a last line cut short by the kill: no target could read it either
        # Count without parsing: a slow reader would hold the tap back and measure itself.
        if line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"'):
            stream = _stream_of(line)
            counts[stream] = counts.get(stream, 0) + 1
            total += 1
            if keep_ids:
                ids.setdefault(stream, set()).add(parse_json(line)["record"].get("id"))
            if kill_after is not None and total >= kill_after and not killed:
                proc.send_signal(signal.SIGKILL)
                killed = True
        elif line.startswith(b'{"type":"STATE"') or line.startswith(b'{"type": "STATE"'):
            state_line = line
    rss_mb = peak.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0 and not killed:
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace").splitlines()[-15:]
        raise SystemExit(f"{argv[0]} failed with status {status}:\n" + "\n".join(tail))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss_mb, "counts": counts,
            "state": json.loads(state_line)["value"] if state_line else None, "ids": ids, "killed": killed}


def diff_stats(before, after):
    requests_by_group = {g: n - before["requests"].get(g, 0) for g, n in after["requests"].items()
                         if n - before["requests"].get(g, 0)}
    limited = sum(n - before["rate_limited"].get(g, 0) for g, n in after["rate_limited"].items())
    return requests_by_group, limited


def start_date(days):
    """The account's first day: where a user would start a backfill."""
    return time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - (days + 1) * 86400))


def selected_catalog(discover_argv, cwd, path: Path, streams=None, env=None) -> dict:
    """Discovery, run apart from the measured sync, with `streams` (None: every stream)
    selected: both taps are measured on the same work, a sync from a catalog."""
    catalog = json.loads(subprocess.run(discover_argv, cwd=cwd, capture_output=True, text=True, check=True,
                                        env={**os.environ, **(env or {})}).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = streams is None or entry["tap_stream_id"] in streams
    path.write_text(json.dumps(catalog))
    return catalog


def default_selection(catalog: dict) -> dict:
    """A copy of `catalog` with each stream selected as its `selected-by-default` says."""
    catalog = json.loads(json.dumps(catalog))
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = item["metadata"].get("selected-by-default", True)
    return catalog


class TapClose:
    """tap-close against one sandbox: its config, discovered catalog and measured syncs."""

    def __init__(self, sb, workdir, args, streams=None):
        self.sb, self.workdir, self.args = sb, Path(workdir), args
        self.start_date = start_date(args.days)
        config = {"api_key": KEY, "start_date": self.start_date, "base_url": sb.url}
        if args.concurrency:
            config["max_concurrency"] = args.concurrency
        self.config = self.workdir / "tap-close.json"
        self.config.write_text(json.dumps(config))
        # --tap-src: the tap_close package of another tree, ahead of this checkout's on the path.
        self.env = {"PYTHONPATH": str(Path(args.tap_src).resolve())} if args.tap_src else {}
        self.tap = [str(ROOT / ".venv" / "bin" / "tap-close")]
        self.catalog_path = self.workdir / "tap-close-catalog.json"
        self.catalog = selected_catalog(self.tap + ["--config", str(self.config), "--discover"], self.workdir,
                                        self.catalog_path, streams, self.env)
        # What a user gets without choosing: each stream's `selected-by-default` (the tap's
        # catalog.select_defaults). Measured only when the bench selects every stream.
        self.default_catalog_path = None
        if streams is None:
            self.default_catalog_path = self.workdir / "tap-close-default-catalog.json"
            self.default_catalog_path.write_text(json.dumps(default_selection(self.catalog)))

    def sync(self, state=None, kill_after=None, keep_ids=False, pause=True, catalog_path=None, account=False):
        """One sync from the catalog (`catalog_path`, else the bench's; from `state` if given),
        with the sandbox's requests per group and the tap's per stream; with `account`, every
        request of the sync by what it reads (`readers`, from the sandbox's request log)."""
        if pause:
            settle(self.args)
        argv = self.tap + ["--config", str(self.config), "--catalog", str(catalog_path or self.catalog_path),
                           "--summary-json", str(self.workdir / "summary.json")]
        if state is not None:
            (self.workdir / "state.json").write_text(json.dumps(state))
            argv += ["--state", str(self.workdir / "state.json")]
        summary = self.workdir / "summary.json"
        summary.unlink(missing_ok=True)
        before = self.sb.stats()
        logged = self.sb.requests_since(1 << 62)[1] if account else 0
        result = run_measured(argv, self.workdir, self.env, kill_after, keep_ids)
        result["groups"], result["limited"] = diff_stats(before, self.sb.stats())
        streams = json.loads(summary.read_text())["streams"] if summary.exists() else []
        result["streams"] = {s["stream"]: s["requests"] for s in streams if s["requests"]}
        result["deletions"] = sum(s.get("deletion_records", 0) for s in streams)
        result["stream_deletions"] = {s["stream"]: s.get("deletion_records", 0) for s in streams}
        result["selected"] = sorted(s["stream"] for s in streams)
        if account:
            result["readers"] = readers(self.sb.requests_since(logged)[0])
            result["late_edits"] = {stream: late_edits(self.sb, stream, state, self.start_date)
                                    for stream in result["selected"] if TAP_STREAMS[stream].refetch_edited}
        return result

    def backfills(self, repeat):
        """`repeat` syncs from scratch, which must emit the same records. The medians of wall
        time, CPU and peak memory; the first run's counts and requests; every run in "runs"."""
        runs = [self.sync() for _ in range(repeat)]
        if any(run["counts"] != runs[0]["counts"] for run in runs):
            raise SystemExit(f"tap-close emitted different records in repeated runs: {[r['counts'] for r in runs]}")
        merged = {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu", "rss_mb")}
        return {**runs[0], **merged, "runs": runs, "state": runs[-1]["state"]}


def settle(args):
    """Waits until every bucket is full again (burst / rate) and the last answer is in."""
    if args.rate:
        time.sleep(args.burst / args.rate + args.latency)


def tap_closeio(sb, workdir, args):
    venv = venv_with("tap-closeio", ["tap-closeio==1.6.6"])
    python = str(venv / "bin" / "python")
    config = Path(workdir) / "closeio.json"
    config.write_text(json.dumps({"api_key": KEY, "start_date": start_date(args.days)}))
    # tap-closeio hard-codes https://app.close.io/api/v1: point it at the sandbox.
    shim = (f"import sys, tap_closeio.http as h; h.BASE_URL = {sb.url!r}; import tap_closeio; "
            "sys.exit(tap_closeio.main())")
    catalog = Path(workdir) / "closeio-catalog.json"
    selected_catalog([python, "-c", shim, "--config", str(config), "--discover"], workdir, catalog)
    settle(args)
    before = sb.stats()
    result = run_measured([python, "-c", shim, "--config", str(config), "--catalog", str(catalog)], workdir)
    result["groups"], result["limited"] = diff_stats(before, sb.stats())
    return result


# -- the perfect client: the bound and the JSON baseline ------------------------------------
class Walker:
    """Reads lists as a perfect client would, keeping every page's body and counting its
    requests per stream."""

    def __init__(self, sb):
        self.url = sb.url
        self.session = requests.Session()
        self.session.auth = (KEY, "")
        self.requests: dict[str, int] = {}
        self.records: dict[str, int] = {}
        self.bodies: list[bytes] = []

    def _send(self, stream, method, path, **kwargs):
        while True:
            response = self.session.request(method, f"{self.url}/{path}/", **kwargs)
            self.requests[stream] = self.requests.get(stream, 0) + 1
            if response.status_code != 429:
                return response
            # Limits are off by the time it runs; should one be on, wait and do not count it.
            self.requests[stream] -= 1
            time.sleep(float(response.headers.get("Retry-After", 1)))

    def _keep(self, stream, response, keep=True):
        response.raise_for_status()
        data = response.json()["data"]
        if keep:
            self.bodies.append(response.content)
            self.records[stream] = self.records.get(stream, 0) + len(data)
        return data

    def offset_list(self, stream, path, params, keep=True):
        """Every page of an offset list; `keep=False` reads it without keeping its pages."""
        page_size, skip, items = PAGE.get(path.split("/")[0], OTHER_PAGE), 0, []
        while True:
            response = self._send(stream, "GET", path, params={**params, "_skip": skip, "_limit": page_size})
            data = self._keep(stream, response, keep)
            items += data
            skip += len(data)
            if not response.json().get("has_more") or not data:
                return items

    def detail(self, stream, path, item_id):
        response = self._send(stream, "GET", f"{path}/{item_id}")
        response.raise_for_status()
        self.bodies.append(b'{"data":[' + response.content + b']}')
        self.records[stream] = self.records.get(stream, 0) + 1

    def events(self, stream, params=None, keep=True):
        """Every event (of `params`' date range, if given), newest first."""
        cursor, events = None, []
        while True:
            page = {**(params or {}), "_limit": PAGE["event"], **({"_cursor": cursor} if cursor else {})}
            response = self._send(stream, "GET", "event", params=page)
            events += self._keep(stream, response, keep)
            cursor = response.json().get("cursor_next")
            if not cursor:
                return events

    def search(self, stream, object_type, fields):
        """One cursor walk ascending by date_updated; should Close refuse the cursor (past
        its ~10,000 objects), a new walk from the last second read, dropping repeats by id."""
        field = {"type": "regular_field", "object_type": object_type, "field_name": "date_updated"}
        seen, anchor, last_second, cursor = set(), None, None, None
        while True:
            queries = [{"type": "object_type", "object_type": object_type}]
            if anchor:
                queries.append({"type": "field_condition", "field": field, "condition": {
                    "type": "moment_range", "on_or_after": {"type": "fixed_utc", "value": anchor}, "before": None}})
            body = {"query": {"type": "and", "queries": queries}, "sort": [{"direction": "asc", "field": field}],
                    "_fields": {object_type: fields}, "_limit": PAGE["data"]}
            if cursor:
                body["cursor"] = cursor
            response = self._send(stream, "POST", "data/search", json=body)
            if response.status_code == 400 and cursor:
                anchor, cursor = last_second, None      # a new query: a cursor is bound to its own
                continue
            response.raise_for_status()
            data = [item for item in response.json()["data"] if item["id"] not in seen]
            self.bodies.append(response.content)
            self.records[stream] = self.records.get(stream, 0) + len(data)
            seen.update(item["id"] for item in data)
            if data:
                last_second = data[-1]["date_updated"][:19]      # naive = UTC (the sandbox's search)
            cursor = response.json().get("cursor")
            if not cursor:
                return


def perfect_walk(sb, catalog, streams):
    """Every list the selected streams read, once, at the largest page: the requests a perfect
    client needs per stream, the records it found, and the pages for the JSON baseline."""
    walker = Walker(sb)
    fields = {entry["tap_stream_id"]: sorted(entry["schema"]["properties"]) for entry in catalog["streams"]}
    for stream in streams:
        if stream in SEARCH_OBJECT:
            walker.search(stream, SEARCH_OBJECT[stream], [f for f in fields[stream] if not f.startswith("_sdc")])
        elif stream == "event_log":
            walker.events(stream)
        elif stream == "sequence_subscriptions":
            # The sequence list is the sequences stream's; only the subscriptions are this one's.
            sequences = walker.offset_list("_sequence_ids", "sequence", {"_fields": "id"}, keep=False)
            for sequence in sequences:
                walker.offset_list(stream, "sequence_subscription", {"sequence_id": sequence["id"]})
        elif stream in OFFSET_LISTS:
            for path, params in OFFSET_LISTS[stream]:
                if stream == "groups":      # the list carries no members: each group by id
                    for item in walker.offset_list(stream, path, params, keep=False):
                        walker.detail(stream, "group", item["id"])
                else:
                    walker.offset_list(stream, path, params)
    listing = walker.requests.pop("_sequence_ids", 0)
    if "sequence_subscriptions" in streams and "sequences" not in streams:
        walker.requests["sequence_subscriptions"] += listing
    return walker


def json_baseline(bodies, repeat):
    """CPU of parsing every page and dumping every record with the standard json module, on
    the tap's CPU: two virtual CPUs of one machine can differ in speed by more than the ratio
    measured (runs on the script's CPU gave baselines from 20 to 37 us a record)."""
    costs, mine = [], os.sched_getaffinity(0) if TAP_CPUS else None
    try:
        if TAP_CPUS:
            os.sched_setaffinity(0, TAP_CPUS)
        for _ in range(repeat):
            started, records = time.process_time(), 0
            for body in bodies:
                for record in json.loads(body)["data"]:
                    json.dumps(record)
                    records += 1
            costs.append((time.process_time() - started) / records * 1e6)
    finally:
        if mine:
            os.sched_setaffinity(0, mine)
    return statistics.median(costs), costs, records


def rate_limit_bound(requests_by_stream, groups, rate, burst, latency):
    """(bound in seconds, busiest group, its requests, requests per group) for a perfect
    client's requests per stream, the streams of one group adding up."""
    by_group: dict[str, int] = {}
    for stream, n in requests_by_stream.items():
        by_group[groups[stream]] = by_group.get(groups[stream], 0) + n
    busiest = max(by_group, key=by_group.get)
    return max(0, by_group[busiest] - burst) / rate + latency, busiest, by_group[busiest], by_group


# -- the incremental run's accounting --------------------------------------------------------
def reader_of(entry: dict) -> str:
    """What one request of the tap reads: its stream, or one of the run's shared reads."""
    group, path, params = entry["group"], entry["path"], entry["params"]
    if group == "me":
        return CLOCK
    if group == "event":
        if "object_type" in params:      # a stream asking for its own object type's events
            return EXACT_EVENT_STREAM.get(params["object_type"], f"[event {params['object_type']}]")
        # The replays ask for a few fields only (tap_close/streams/event_feed.py EVENT_FIELDS).
        return REPLAY_WALK if "_fields" in params else "event_log"
    if group == "data":
        queries = (entry.get("body") or {}).get("query", {}).get("queries") or [{}]
        object_type = queries[0].get("object_type")
        return SEARCH_STREAM.get(object_type, f"[data {object_type}]")
    if group == "activity":
        return "custom_activities" if path.startswith("/activity/custom/") else "activities"
    if group == "sequence" and params.get("_fields") == "id":
        return "sequence_subscriptions"  # its own walk of the sequences, for their ids
    if group == "status":
        return "lead_statuses" if path.startswith("/status/lead/") else "opportunity_statuses"
    return GROUP_STREAM.get(group, f"[{group}]")


def readers(entries: list[dict]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for entry in entries:
        reader = reader_of(entry)
        counted[reader] = counted.get(reader, 0) + 1
    return counted


def pages(records: int, page: int) -> int:
    """Requests to read `records` at `page` a request: one even for none (to learn there are none)."""
    return max(1, math.ceil(records / page))


def late_edits(sb, stream: str, state: dict | None, first_day: str) -> int:
    """How many of `stream`'s records a correct tap must fetch again on an incremental run
    from `state`, by the sandbox's own event log and records: Close lists the stream by
    creation time only, so a record created before the run's re-read (the lookback) and edited
    since the bookmark, less the minutes Close advises replaying because events show late
    (RESCAN), is read only by asking for it (`id__in`). Deleted ones need no fetch."""
    bookmark = ((state or {}).get("bookmarks", {}).get(stream) or {}).get(TAP_STREAMS[stream].replication_key)
    if not bookmark:
        return 0
    bookmark = parse_datetime(bookmark)
    kinds = TAP_STREAMS[stream].event_object_types
    # Activities.reread at the default lookback (the bench's config sets none).
    reread_from = bookmark - max(StreamContext.activities_lookback, LATE_VISIBILITY)
    walker, edited, deleted = Walker(sb), set(), set()
    for event in walker.events(stream, {"date_updated__gte": format_datetime(bookmark - RESCAN)}, keep=False):
        if any(event["object_type"] == kind or (kind.endswith(".") and event["object_type"].startswith(kind))
               for kind in kinds):
            {"updated": edited, "deleted": deleted}.get(event["action"], set()).add(event["object_id"])
    ids, fetch = sorted(edited - deleted), 0
    for start in range(0, len(ids), PAGE["activity"]):
        batch = ids[start:start + PAGE["activity"]]
        answer = walker._send(stream, "GET", TAP_STREAMS[stream].path,
                              params={"id__in": ",".join(batch), "_limit": len(batch), "_fields": "id,date_created"})
        answer.raise_for_status()
        fetch += sum(parse_datetime(first_day) <= parse_datetime(record["date_created"]) < reread_from
                     for record in answer.json()["data"])
    return fetch


def least_requests(run: dict, perfect: dict[str, int]) -> dict[str, int]:
    """The least a correct tap needs, on this incremental run, for each of its readers:
    - a table read whole every run (no date filter: tap_close/streams/full_scan.py) what the
      perfect client's walk of it costs (`perfect`, per stream);
    - a stream read in date windows, the pages of what it read again (the re-read margin
      below its bookmark, the activities' lookback), at Close's largest page, and for one
      listed by creation time only, the pages of the records edited since (`late_edits`);
    - the event replays, the pages of the events since the bookmarks (the event_log stream
      reads the same ones);
    - Close's clock, nothing: any answer the run needs anyway carries a Date header."""
    least: dict[str, int] = {}
    for reader in set(run["readers"]) | set(run["selected"]):
        if reader == CLOCK:
            least[reader] = 0
        elif reader == REPLAY_WALK:
            least[reader] = pages(run["counts"].get("event_log", 0), PAGE["event"])
        elif isinstance(TAP_STREAMS.get(reader), FullScanStream):
            least[reader] = perfect.get(reader, 0)
        elif reader in STREAM_GROUP:
            page = PAGE.get(STREAM_GROUP[reader], OTHER_PAGE)
            fetched = run.get("late_edits", {}).get(reader, 0)
            read = run["counts"].get(reader, 0) - run["stream_deletions"].get(reader, 0) - fetched
            least[reader] = pages(read, page) + math.ceil(fetched / page)
    return least


# -- one organization -------------------------------------------------------------------------
def measure(args, name, skew, workdir):
    """Every measurement on one organization (evenly spread or skewed)."""
    out = {}
    streams = None if not args.shared_streams else list(CLOSEIO_GROUP)
    sb = Sandbox(args, args.leads, skew, args.latency, args.rate, args.burst)
    try:
        tap = TapClose(sb, workdir, args, streams)
        selected = [e["tap_stream_id"] for e in tap.catalog["streams"]
                    if any(m["breadcrumb"] == [] and m["metadata"].get("selected") for m in e["metadata"])]
        print(f"  [{name}] backfill x{args.repeat}", file=sys.stderr, flush=True)
        out["backfill"] = tap.backfills(args.repeat)
        print(f"  [{name}] incremental, kill and resume", file=sys.stderr, flush=True)
        out["incremental"] = {label: tap.sync(state=out["backfill"]["state"], catalog_path=path, account=True)
                              for label, path in incremental_selections(tap).items()}
        out["resume"] = kill_and_resume(tap, out["backfill"])
        if not args.skip_closeio:
            print(f"  [{name}] tap-closeio", file=sys.stderr, flush=True)
            out["closeio"] = tap_closeio(sb, workdir, args)
        print(f"  [{name}] perfect client, JSON baseline, memory", file=sys.stderr, flush=True)
        sb.unlimited()
        walker = perfect_walk(sb, tap.catalog, selected)
        out["perfect"], out["perfect_records"] = walker.requests, walker.records
        out["baseline"] = json_baseline(walker.bodies, args.repeat)
        del walker
        out["bound"] = rate_limit_bound(out["perfect"], STREAM_GROUP, args.rate, args.burst, args.latency)
        closeio_streams = {s: n for s, n in out["perfect"].items() if s in CLOSEIO_GROUP}
        out["closeio_bound"] = rate_limit_bound(closeio_streams, CLOSEIO_GROUP, args.rate, args.burst, args.latency)
        if not args.skip_memory:
            out["memory_n"] = memory_runs(tap, args.repeat)
    finally:
        sb.stop()
    if not args.skip_memory:
        sb = Sandbox(args, 4 * args.leads, skew, 0.0, None, None)
        try:
            out["memory_4n"] = memory_runs(TapClose(sb, workdir, args, streams), args.repeat)
        finally:
            sb.stop()
    return out


def incremental_selections(tap) -> dict[str, Path]:
    """The catalogs of the incremental runs, the headline first."""
    if tap.default_catalog_path is None:
        return {"tap-closeio's six streams": tap.catalog_path}
    return {"default selection (what a user gets)": tap.default_catalog_path, "every stream": tap.catalog_path}


def kill_and_resume(tap, backfill):
    """A backfill SIGKILLed after half its records; a sync from the last STATE it emitted."""
    total = sum(backfill["counts"].values())
    killed = tap.sync(kill_after=total // 2, keep_ids=True)
    resumed = tap.sync(state=killed["state"], keep_ids=True)
    first = sum(len(ids) for ids in killed["ids"].values())
    again = sum(len(ids & resumed["ids"].get(stream, set())) for stream, ids in killed["ids"].items())
    union = {s: killed["ids"].get(s, set()) | resumed["ids"].get(s, set())
             for s in set(killed["ids"]) | set(resumed["ids"])}
    missing = sum(max(0, n - len(union.get(s, ()))) for s, n in backfill["counts"].items())
    return {"killed_records": sum(killed["counts"].values()), "killed_distinct": first,
            "had_state": killed["state"] is not None, "resumed": resumed, "again": again, "missing": missing}


def memory_runs(tap, repeat):
    runs = [tap.sync(pause=False) for _ in range(repeat)]
    return {"records": sum(runs[0]["counts"].values()), "rss_mb": statistics.median(r["rss_mb"] for r in runs),
            "runs": [r["rss_mb"] for r in runs]}


# -- the report ------------------------------------------------------------------------------
LABEL, WIDTH = 36, 26


def row(label, values, note=""):
    """One figure for each organization, side by side, and what it means."""
    print(f"{label:<{LABEL}}" + "".join(f"{v:>{WIDTH}}" for v in values) + (f"   {note}" if note else ""))


def each_run(values, fmt):
    return " ".join(fmt(v) for v in values)


def pairs(label, ours, perfect):
    """A row per key: `ours / perfect` for each organization ({key: n} tables)."""
    print(label)
    for key in sorted(set().union(*ours, *perfect)):
        row(f"    {key}", [f"{o.get(key, 0)} / {p.get(key, 0)}" for o, p in zip(ours, perfect)])


def report(args, results):
    r = list(results.values())
    row("", [f"{name} data" for name in results])
    report_backfill(args, r)
    report_requests(r)
    if not args.skip_closeio:
        report_closeio(r)
    report_incremental(r)
    report_resume(r)
    if not args.skip_memory:
        report_memory(args, r)


def report_backfill(args, r):
    several = args.repeat > 1
    print("tap-close backfill" + (f" (medians of {args.repeat} runs; each run below)" if several else " (one run)"))
    backfills = [x["backfill"] for x in r]
    records = [sum(b["counts"].values()) for b in backfills]
    bounds = [x["bound"][0] for x in r]
    row("  records", records)
    row("  rate-limit bound (s)", [f"{b:.1f}" for b in bounds], "from the perfect client's requests")
    row("  busiest group (perfect requests)", [f"{x['bound'][1]} ({x['bound'][2]})" for x in r])
    row("  wall time (s)", [f"{b['wall']:.1f}" for b in backfills])
    row("  ratio to the bound", [f"{b['wall'] / bound:.2f}x" for b, bound in zip(backfills, bounds)])
    if several:
        row("    each run", [each_run([u["wall"] / bound for u in b["runs"]], lambda v: f"{v:.2f}x")
                             for b, bound in zip(backfills, bounds)])
    cpu = [b["cpu"] / n * 1e6 for b, n in zip(backfills, records)]
    row("  CPU per record (us)", [f"{c:.1f}" for c in cpu])
    if several:
        row("    each run", [each_run([u["cpu"] / n * 1e6 for u in b["runs"]], lambda v: f"{v:.1f}")
                             for b, n in zip(backfills, records)])
    row("  JSON baseline (us/record)", [f"{x['baseline'][0]:.1f}" for x in r],
        "parse the perfect client's pages, dump their records")
    if several:
        row("    each run", [each_run(x["baseline"][1], lambda v: f"{v:.1f}") for x in r])
    row("  CPU / JSON baseline", [f"{c / x['baseline'][0]:.2f}x" for c, x in zip(cpu, r)])
    if not args.skip_closeio:
        theirs = [x["closeio"]["cpu"] / sum(x["closeio"]["counts"].values()) * 1e6 for x in r]
        row("  CPU / tap-closeio", [f"{c / k:.2f}x" for c, k in zip(cpu, theirs)],
            "per record; tap-closeio reads its six streams")
    row("  peak memory (MB)", [f"{b['rss_mb']:.1f}" for b in backfills])
    if several:
        row("    each run", [each_run([u["rss_mb"] for u in b["runs"]], lambda v: f"{v:.1f}") for b in backfills])
    row("  429 answers", [b["limited"] for b in backfills])


def report_requests(r):
    backfills = [x["backfill"] for x in r]
    print("requests of the (first) backfill, tap-close / perfect client")
    row("  all groups", [f"{sum(b['groups'].values())} / {sum(x['bound'][3].values())}"
                         for b, x in zip(backfills, r)])
    pairs("  per group (the sandbox's count)", [b["groups"] for b in backfills], [x["bound"][3] for x in r])
    pairs("  per stream (the tap's --summary-json)", [b["streams"] for b in backfills], [x["perfect"] for x in r])
    pairs("records per stream, tap-close backfill / perfect client", [b["counts"] for b in backfills],
          [x["perfect_records"] for x in r])


def report_closeio(r):
    print("tap-closeio 1.6.6 (its six streams, one run)")
    theirs = [x["closeio"] for x in r]
    records = [sum(k["counts"].values()) for k in theirs]
    bounds = [x["closeio_bound"][0] for x in r]
    row("  records", records)
    row("  rate-limit bound (s)", [f"{b:.1f}" for b in bounds], "the perfect client on its six streams")
    row("  wall time (s)", [f"{k['wall']:.1f}" for k in theirs])
    row("  ratio to its bound", [f"{k['wall'] / b:.2f}x" for k, b in zip(theirs, bounds)])
    row("  CPU per record (us)", [f"{k['cpu'] / n * 1e6:.1f}" for k, n in zip(theirs, records)])
    row("  peak memory (MB)", [f"{k['rss_mb']:.1f}" for k in theirs])
    row("  429 answers", [k["limited"] for k in theirs])
    row("  requests", [sum(k["groups"].values()) for k in theirs])
    pairs("  per group, tap-closeio / perfect client", [k["groups"] for k in theirs],
          [x["closeio_bound"][3] for x in r])


def report_incremental(r):
    print("incremental run, nothing changed (from the last backfill's final STATE; one run each)")
    for label in r[0]["incremental"]:
        runs = [x["incremental"][label] for x in r]
        least = [least_requests(i, x["perfect"]) for i, x in zip(runs, r)]
        print(f"  {label}")
        row("    wall time (s)", [f"{i['wall']:.1f}" for i in runs])
        row("    records", [sum(i["counts"].values()) for i in runs], "re-read margins: lookback, 5 minutes")
        row("    requests, ours / least", [f"{sum(i['readers'].values())} / {sum(n.values())}"
                                            for i, n in zip(runs, least)])
        row("    429 answers", [i["limited"] for i in runs])
        print("    requests per stream or shared read, ours / least (the sandbox's request log)")
        for reader in sorted(set().union(*(i["readers"] for i in runs), *least)):
            ours = [i["readers"].get(reader, 0) for i in runs]
            row(f"      {reader}", [f"{o} / {n.get(reader, 0)}" for o, n in zip(ours, least)],
                "over" if any(o > n.get(reader, 0) for o, n in zip(ours, least)) else "")


def report_resume(r):
    print("kill and resume (SIGKILL after half the backfill's records, then a sync from its last STATE)")
    runs = [x["resume"] for x in r]
    row("  records out of the killed run", [k["killed_records"] for k in runs])
    row("  resumed run: records", [sum(k["resumed"]["counts"].values()) for k in runs])
    row("  resumed run: wall time (s)", [f"{k['resumed']['wall']:.1f}" for k in runs])
    row("  resumed run: requests", [sum(k["resumed"]["groups"].values()) for k in runs])
    row("  killed run's records emitted again", [f"{k['again']} ({k['again'] / max(1, k['killed_distinct']):.1%})"
                                                 for k in runs], "of its distinct ids")
    row("  backfill records in neither run", [k["missing"] for k in runs])
    if not all(k["had_state"] for k in runs):
        print("  (a killed run emitted no STATE: its resume started from scratch)")


def report_memory(args, r):
    print("peak memory, limits and latency off" + (f" (medians of {args.repeat}; each run below)"
                                                   if args.repeat > 1 else ""))
    for key, label in (("memory_n", "N"), ("memory_4n", "4N")):
        row(f"  at {label} records (MB)", [f"{x[key]['rss_mb']:.1f} at {x[key]['records']}" for x in r])
        if args.repeat > 1:
            row("    each run", [each_run(x[key]["runs"], lambda v: f"{v:.1f}") for x in r])
    row("  growth from N to 4N", [f"{(x['memory_4n']['rss_mb'] / x['memory_n']['rss_mb'] - 1) * 100:+.1f}%"
                                  for x in r])


def compile_tap(tap_src) -> None:
    """An installed tap-close carries compiled bytecode (pip compiles a wheel at install), as
    does tap-closeio in its virtualenv. This checkout is installed in editable mode, and where
    PYTHONDONTWRITEBYTECODE is set (CI machines often set it) Python would compile every
    module of the package again at every start: measure the tap as users run it."""
    package = Path(tap_src) / "tap_close" if tap_src else ROOT / "tap_close"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=4000)
    parser.add_argument("--activities-per-lead", type=int, default=8)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=None, help="tap-close's max_concurrency")
    parser.add_argument("--skip-closeio", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="tap-close backfills (and JSON baselines, memory runs) to take the median of "
                             "(default 3)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the tap and the sandbox share every CPU (see above)")
    parser.add_argument("--all-streams", action="store_true",
                        help="every tap-close stream: the default now, kept for old command lines")
    parser.add_argument("--shared-streams", action="store_true",
                        help="tap-close on the six streams tap-closeio has, as the bench used to by default")
    parser.add_argument("--tap-src", metavar="DIR",
                        help="run the tap_close package in DIR (e.g. an older tree) instead of this checkout's")
    args = parser.parse_args()
    compile_tap(args.tap_src)
    placement = pin_cpus(not args.no_pin)

    scope = "the six streams tap-closeio has" if args.shared_streams else "every stream"
    print(f"# tap-close benchmark ({scope}): {args.leads} leads, ~{args.activities_per_lead} activities per lead, "
          f"{args.latency * 1000:.0f} ms latency, {args.rate:g} requests/s per endpoint group (burst {args.burst}); "
          f"{placement}" + (f"; medians of {args.repeat} runs" if args.repeat > 1 else "")
          + (f"; tap_close from {args.tap_src}" if args.tap_src else ""), flush=True)
    print(f"# load average at the start {load()}: other work on this machine moves every figure", flush=True)
    started = time.monotonic()
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, skew in DATA.items():
            results[name] = measure(args, name, skew, workdir)
    report(args, results)
    print(f"# bench wall time {time.monotonic() - started:.0f} s; load average at the end {load()}")


def load():
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


if __name__ == "__main__":
    main()

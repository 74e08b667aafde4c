"""Benchmark: tap-close against the sandbox, beside singer-io's tap-closeio 1.6.6.

Starts the sandbox with a generated organization, latency and per-group rate limits, runs
each tap's discovery (not measured), then its sync from that catalog, to completion, and
prints, per tap: wall time, its ratio to the rate-limit bound,
CPU per 10k records, peak memory, requests per endpoint group and 429s. Then the JSON
baseline (parse every page and dump every record with the standard json module), and the
tap's peak memory at N and 4N records. tap-close's syncs (timed, and at N and 4N) and the
baseline run `--repeat` times (3) and their medians are reported, each run's figure beside
it: single runs on a shared machine move by 5-10%, and a peak of memory depends on which
large pages happen to be in flight together. tap-closeio, at about a minute a run, runs once.

    .venv/bin/python bench/run.py                      # the README's figures
    .venv/bin/python bench/run.py --leads 500 --skip-closeio --skip-memory   # a quick look
    .venv/bin/python bench/run.py --all-streams --skip-closeio   # every tap-close stream

By default both taps sync the six streams they share (tap-closeio has no others), so that
the two are measured on the same work; `--all-streams` selects every tap-close stream.

On a machine with two or more CPUs the tap under test runs on CPU 0 and everything else (the
sandbox, this script reading the tap's output, the JSON baseline) on the others: Close's
servers are not on the user's machine, and a sandbox building pages on the tap's core would
compete with it for that core (`--no-pin` lets them share; the README compares the two).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENVS = ROOT / ".venv-bench"
KEY = "bench-key"
# Largest page Close serves per endpoint group (the sandbox enforces the same maxima).
PAGE = {"activity": 100, "lead": 200, "task": 1000, "user": 1000, "custom_field": 1000, "event": 50,
        "opportunity": 250, "contact": 100, "status": 100, "pipeline": 100, "custom_activity": 100}
SHARED_STREAMS = {"activities": "activity", "leads": "lead", "tasks": "task", "users": "user",
                  "custom_fields": "custom_field", "event_log": "event"}
STREAM_GROUP = {**SHARED_STREAMS, "opportunities": "opportunity", "custom_activities": "activity",
                "contacts": "contact", "lead_statuses": "status", "opportunity_statuses": "status",
                "pipelines": "pipeline", "custom_activity_types": "custom_activity"}
CUSTOM_FIELD_TYPES = 5   # one list per object type


class Sandbox:
    def __init__(self, args, leads, latency, rate, burst, port_file):
        argv = [sys.executable, "-m", "close_sandbox", "--port", "0", "--api-key", KEY, "--seed", str(args.seed),
                "--leads", str(leads), "--activities-per-lead", str(args.activities_per_lead),
                "--events", str(args.events), "--days", str(args.days), "--latency", str(latency), "--quiet"]
        if rate:
            argv += ["--rate", str(rate), "--burst", str(burst)]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"the sandbox did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.root = self.url[: -len("/api/v1")]

    def stats(self):
        return requests.get(self.root + "/_sandbox/stats", timeout=30).json()

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


def run_measured(argv, cwd, env=None):
    """Runs a tap, counts its RECORD lines per stream; returns wall, CPU, peak RSS, counts."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})}, preexec_fn=_on_tap_cpus)
    peak = PeakMemory(proc.pid)
    counts: dict[str, int] = {}
    for line in proc.stdout:
        # Count without parsing: a slow reader would hold the tap back and measure itself.
        if line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"'):
            start = line.index(b'"stream":') + 9
            start = line.index(b'"', start) + 1
            stream = line[start:line.index(b'"', start)].decode()
            counts[stream] = counts.get(stream, 0) + 1
    rss_mb = peak.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{argv[0]} failed with status {status}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": rss_mb, "counts": counts}


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


def diff_stats(before, after):
    requests_by_group = {g: n - before["requests"].get(g, 0) for g, n in after["requests"].items()
                         if n - before["requests"].get(g, 0)}
    limited = sum(n - before["rate_limited"].get(g, 0) for g, n in after["rate_limited"].items())
    return requests_by_group, limited


def rate_limit_bound(counts, rate, burst, latency):
    """The least time any client needs: each group's records at the largest page size (the
    streams sharing a group add up), the first `burst` requests free, the rest at `rate` per
    second, plus one round trip."""
    pages_by_group: dict[str, int] = {}
    for stream, n in counts.items():
        group = STREAM_GROUP[stream]
        pages = max(1, math.ceil(n / PAGE[group]))
        if group == "custom_field":
            pages = max(pages, CUSTOM_FIELD_TYPES)
        pages_by_group[group] = pages_by_group.get(group, 0) + pages
    return max(max(0, pages - burst) / rate for pages in pages_by_group.values()) + latency


def start_date(days):
    """The account's first day: where a user would start a backfill."""
    return time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - (days + 1) * 86400))


def selected_catalog(discover_argv, cwd, path: Path, streams=None) -> Path:
    """Discovery, run apart from the measured sync, with `streams` (None: every stream)
    selected: both taps are measured on the same work, a sync from a catalog."""
    catalog = json.loads(subprocess.run(discover_argv, cwd=cwd, capture_output=True, text=True, check=True).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = streams is None or entry["tap_stream_id"] in streams
    path.write_text(json.dumps(catalog))
    return path


def tap_close(sb, workdir, days, concurrency=None, all_streams=False, repeat=1):
    """Discovery once, then `repeat` full syncs from scratch, which must emit the same records.
    Returns the medians of wall time, CPU and peak memory, the first run's counts and
    requests, and every run under "runs"."""
    config = {"api_key": KEY, "start_date": start_date(days), "base_url": sb.url}
    if concurrency:
        config["max_concurrency"] = concurrency
    path = Path(workdir) / "tap-close.json"
    path.write_text(json.dumps(config))
    tap = str(ROOT / ".venv" / "bin" / "tap-close")
    catalog = selected_catalog([tap, "--config", str(path), "--discover"], workdir, Path(workdir) / "tap-close-catalog.json",
                               None if all_streams else SHARED_STREAMS)
    runs = []
    for _ in range(repeat):
        before = sb.stats()
        result = run_measured([tap, "--config", str(path), "--catalog", str(catalog)], workdir)
        result["requests"], result["limited"] = diff_stats(before, sb.stats())
        runs.append(result)
    if any(run["counts"] != runs[0]["counts"] for run in runs):
        raise SystemExit(f"tap-close emitted different records in repeated runs: {[r['counts'] for r in runs]}")
    merged = {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu", "rss_mb")}
    return {**runs[0], **merged, "runs": runs}


def tap_closeio(sb, workdir, days):
    venv = venv_with("tap-closeio", ["tap-closeio==1.6.6"])
    python = str(venv / "bin" / "python")
    config = Path(workdir) / "closeio.json"
    config.write_text(json.dumps({"api_key": KEY, "start_date": start_date(days)}))
    # tap-closeio hard-codes https://app.close.io/api/v1: point it at the sandbox.
    shim = f"import sys, tap_closeio.http as h; h.BASE_URL = {sb.url!r}; import tap_closeio; sys.exit(tap_closeio.main())"
    catalog = selected_catalog([python, "-c", shim, "--config", str(config), "--discover"], workdir,
                               Path(workdir) / "closeio-catalog.json")
    return run_measured([python, "-c", shim, "--config", str(config), "--catalog", str(catalog)], workdir)


def get_page(session, url, params):
    """A page for the baseline, waiting out a 429: the tap's runs may just have spent the budget."""
    while True:
        response = session.get(url, params=params)
        if response.status_code != 429:
            response.raise_for_status()
            return response
        time.sleep(float(response.headers.get("Retry-After", 1)))


def json_baseline(sb, all_streams=False, repeat=1):
    """CPU of parsing every page and dumping every record with the standard json module."""
    session = requests.Session()
    session.auth = (KEY, "")
    bodies = []
    lists = [("activity", {}), ("lead", {}), ("task", {"_type": "all"}), ("user", {})]
    lists += [(f"custom_field/{t}", {}) for t in ("lead", "contact", "opportunity", "activity", "shared")]
    if all_streams:
        lists += [("opportunity", {}), ("activity/custom", {}), ("contact", {}), ("status/lead", {}),
                  ("status/opportunity", {}), ("pipeline", {}), ("custom_activity", {})]
    for path, params in lists:
        group = path.split("/")[0]
        skip = 0
        while True:
            response = get_page(session, f"{sb.url}/{path}/", {**params, "_skip": skip, "_limit": PAGE[group]})
            bodies.append(response.content)
            page = response.json()
            skip += len(page["data"])
            if not page["has_more"]:
                break
    cursor = None
    while True:
        response = get_page(session, f"{sb.url}/event/", {"_limit": 50, **({"_cursor": cursor} if cursor else {})})
        bodies.append(response.content)
        cursor = response.json().get("cursor_next")
        if not cursor:
            break
    costs = []
    for _ in range(repeat):
        started, records = time.process_time(), 0
        for body in bodies:
            for record in json.loads(body)["data"]:
                json.dumps(record)
                records += 1
        costs.append((time.process_time() - started) / records * 1e6)
    return statistics.median(costs), records


def print_run(name, result, stats, limited, bound):
    total = sum(result["counts"].values())
    runs = result.get("runs", [result])
    each = (lambda key, fmt: "" if len(runs) < 2 else
            f"; median of {len(runs)}: " + ", ".join(fmt(run[key]) for run in runs))
    print(f"{name}")
    print(f"  records            {total:>10}  {json.dumps(result['counts'], sort_keys=True)}")
    print(f"  wall time          {result['wall']:>10.1f} s   ({result['wall'] / bound:.2f}x the rate-limit bound"
          + each("wall", lambda w: f"{w / bound:.2f}x") + ")")
    print(f"  CPU per 10k recs   {result['cpu'] / total * 1e4:>10.2f} s   ({result['cpu'] / total * 1e6:.1f} us/record"
          + each("cpu", lambda c: f"{c / total * 1e6:.1f}") + ")")
    print(f"  peak memory        {result['rss_mb']:>10.1f} MB")
    print(f"  requests           {sum(stats.values()):>10}  {json.dumps(stats, sort_keys=True)}")
    print(f"  429 answers        {limited:>10}")


def compile_tap() -> None:
    """An installed tap-close carries compiled bytecode (pip compiles a wheel at install), as
    does tap-closeio in its virtualenv. This checkout is installed in editable mode, and where
    PYTHONDONTWRITEBYTECODE is set (CI machines often set it) Python would compile every
    module of the package again at every start: measure the tap as users run it."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tap_close")], check=True)


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
                        help="tap-close syncs (and JSON baselines) to take the median of (default 3)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the tap and the sandbox share every CPU (see above)")
    parser.add_argument("--all-streams", action="store_true",
                        help="every tap-close stream (tap-closeio is then not run: it has six)")
    args = parser.parse_args()
    if args.all_streams:
        args.skip_closeio = True
    compile_tap()
    placement = pin_cpus(not args.no_pin)

    print(f"# tap-close benchmark ({'every stream' if args.all_streams else 'the six streams tap-closeio has'}): {args.leads} leads, ~{args.activities_per_lead} activities per lead, "
          f"{args.latency * 1000:.0f} ms latency, {args.rate:g} requests/s per endpoint group (burst {args.burst}); {placement}")
    with tempfile.TemporaryDirectory() as workdir:
        sb = Sandbox(args, args.leads, args.latency, args.rate, args.burst, workdir)
        try:
            ours = tap_close(sb, workdir, args.days, args.concurrency, args.all_streams, args.repeat)
            stats, limited = ours["requests"], ours["limited"]
            bound = rate_limit_bound(ours["counts"], args.rate, args.burst, args.latency)
            print(f"rate-limit bound      {bound:>10.1f} s   (largest group's pages beyond the burst / rate + one latency)")
            print_run("tap-close", ours, stats, limited, bound)
            if not args.skip_closeio:
                before = sb.stats()
                theirs = tap_closeio(sb, workdir, args.days)
                stats, limited = diff_stats(before, sb.stats())
                print_run("tap-closeio 1.6.6", theirs, stats, limited, bound)
                ratio = (ours["cpu"] / sum(ours["counts"].values())) / (theirs["cpu"] / sum(theirs["counts"].values()))
                print(f"CPU per record, tap-close / tap-closeio: {ratio:.2f}")
            baseline, records = json_baseline(sb, args.all_streams, args.repeat)
            ours_us = ours["cpu"] / sum(ours["counts"].values()) * 1e6
            print(f"json baseline         {baseline:>10.1f} us/record (parse pages + dump records, {records} records"
                  + (f"; median of {args.repeat}" if args.repeat > 1 else "") + ")")
            print(f"CPU per record, tap-close / json baseline: {ours_us / baseline:.2f}")
        finally:
            sb.stop()
        if not args.skip_memory:
            peaks = []
            for leads in (args.leads, 4 * args.leads):
                sb = Sandbox(args, leads, 0.0, None, None, workdir)
                try:
                    result = tap_close(sb, workdir, args.days, all_streams=args.all_streams, repeat=args.repeat)
                finally:
                    sb.stop()
                peaks.append((sum(result["counts"].values()), result["rss_mb"]))
                each = ", ".join(f"{run['rss_mb']:.1f}" for run in result["runs"])
                print(f"peak memory at {peaks[-1][0]:>8} records: {peaks[-1][1]:.1f} MB"
                      + (f" (median of {len(result['runs'])}: {each})" if len(result["runs"]) > 1 else ""))
            print(f"peak memory growth from N to 4N records: {(peaks[1][1] / peaks[0][1] - 1) * 100:+.1f}%")


if __name__ == "__main__":
    main()

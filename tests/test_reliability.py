"""Fault injection against the sandbox: every test asserts completeness per stream against
the sandbox's own data, not only the exit status."""

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from expectations import STREAMS, assert_complete, expected_ids
from tap_close import cli, client as client_module
from tap_close.streams.opportunities import Opportunities
from tap_close.streams.paging import DELETED_RETRIES
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_in_process, run_tap, tap_config, write_json
from validation import log_lines

START = "2025-09-01T00:00:00Z"
SMALL = dict(leads=40, activities_per_lead=3, events=120, days=200)


def config_for(sb, **extra):
    return tap_config(sb, START, **extra)


def full_sync(sb, tmp_path, config=None, **kwargs):
    started = now_utc()
    run = run_tap([], tmp_path, config=config or config_for(sb), **kwargs)
    assert run.returncode == 0, run.stderr[-3000:]
    assert_complete(expected_ids(sb, parse_datetime(START), started), run.ids)
    assert sb.api_key not in run.stderr
    return run


def rate_limit_log_lines(run):
    return [line for line in log_lines(run.stderr, "INFO") if line.startswith("rate limited on")]


def assert_each_429_was_retried(sb):
    """Every request answered 429 was sent again, identically, and then answered 200."""
    log = sb.request_log
    limited = [i for i, r in enumerate(log) if r["status"] == 429]
    for i in limited:
        same = [r for r in log[i + 1:] if (r["method"], r["path"], r["params"]) ==
                (log[i]["method"], log[i]["path"], log[i]["params"])]
        assert any(r["status"] == 200 for r in same), ("never answered after its 429", log[i])
    return limited


@pytest.mark.parametrize("body, retry_after_header", [("legacy", True), ("empty", True), ("empty", False),
                                                      ("legacy", False)])
def test_429_storms_are_waited_out(sandbox_factory, tmp_path, body, retry_after_header):
    sb = sandbox_factory(seed=21, **SMALL)      # no rate limit: the storms are the only 429s
    sb.faults.rate_limit_storm(2, group="opportunity", retry_after=1, body=body, retry_after_header=retry_after_header)
    sb.faults.rate_limit_storm(2, group="activity", retry_after=1, body=body,
                               retry_after_header=retry_after_header)
    run = full_sync(sb, tmp_path)
    # Exactly the storms' 429s (2 each), each one retried until answered, each one logged.
    assert sb.stats()["rate_limited"] == {"opportunity": 2, "activity": 2}
    assert len(assert_each_429_was_retried(sb)) == 4
    assert len(rate_limit_log_lines(run)) == 4


def test_pacing_spares_a_single_connection_every_429(sandbox_factory, tmp_path):
    """One request at a time, every answer's RateLimit header tells the tap its budget
    exactly: a tap that spends it and waits for the reset is never answered 429."""
    sb = sandbox_factory(seed=22, rate=20, burst=10, **SMALL)
    full_sync(sb, tmp_path, config=config_for(sb, max_concurrency=1))
    requests = sb.stats()["requests"]
    # The limit applies: groups needed more requests than one burst of the bucket holds.
    assert max(requests.values()) > 10, requests
    assert sb.stats()["rate_limited"] == {}, (sb.stats()["rate_limited"], requests)


def test_pacing_under_concurrency_waits_out_every_429_it_meets(sandbox_factory, tmp_path):
    """With 8 requests in flight the budget in a header is already stale when it arrives, so
    a few 429s can happen (their number depends on timing): each is waited out and retried,
    and the run still delivers everything."""
    sb = sandbox_factory(seed=22, rate=20, burst=10, **SMALL)
    sb.faults.rate_limit_storm(1, group="task")     # at least one 429, whatever the timing
    run = full_sync(sb, tmp_path)
    limited = assert_each_429_was_retried(sb)
    assert limited, "the storm's 429 at least"
    assert len(limited) == sum(sb.stats()["rate_limited"].values()) == len(rate_limit_log_lines(run))


def test_5xx_every_kth_request_and_bursts(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=23, **SMALL)
    sb.faults.fail_every(6, status=503)
    sb.faults.fail_burst(2, status=502, group="activity")
    sb.faults.fail_burst(1, status=504, group="event")
    monkeypatch.setattr(client_module, "RETRY_FACTOR", 0.05)
    started = now_utc()
    run = run_in_process([], tmp_path, capsys, config=config_for(sb))
    assert run.returncode == 0, run.stderr[-3000:]
    assert_complete(expected_ids(sb, parse_datetime(START), started), run.ids)
    # Exactly the failures configured: every 6th request of all, then the two bursts.
    status = sb.stats()["status"]
    total = sum(sb.stats()["requests"].values())
    assert sum(codes.get(503, 0) for codes in status.values()) == total // 6
    assert status["activity"].get(502) == 2 and status["event"].get(504) == 1
    retries = [line for line in log_lines(run.stderr, "WARNING") if line.startswith("retrying")]
    assert len(retries) == total // 6 + 3, "one retry for each 5xx answer"


class FakeSleep:
    """Stands in for the client's retry waits: notes each wait and returns at once."""

    def __init__(self):
        self.waits = []

    def sleep(self, seconds):
        self.waits.append(seconds)


def test_persistent_5xx_fails_loudly_in_bounded_time(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=24, **SMALL)
    sb.faults.fail_burst(1000, status=503, group="user")
    # A fake clock for the retry waits (the client waits in CloseClient._wait): the real policy (RETRY_FACTOR 1s, doubling, capped at 60s) is
    # exercised without being waited for.
    fake = FakeSleep()
    monkeypatch.setattr(client_module.CloseClient, "_wait", lambda client, seconds, path="": fake.sleep(seconds))
    config = write_json(tmp_path / "c.json", config_for(sb))
    code = cli.main(["--config", config])
    out, err = capsys.readouterr()
    assert code == 1
    # Bounded: MAX_SERVER_TRIES tries, so one wait fewer, each at most its exponential step
    # (full jitter draws from [0, step]): at most 1 + 2 + 4 + ... + 32 + 60 = 123s with the defaults.
    steps = [min(60, client_module.RETRY_FACTOR * 2 ** k) for k in range(client_module.MAX_SERVER_TRIES - 1)]
    assert len(fake.waits) == client_module.MAX_SERVER_TRIES - 1, fake.waits
    assert all(0 <= wait <= step for wait, step in zip(fake.waits, steps)), (fake.waits, steps)
    critical = log_lines(err, "CRITICAL")
    assert len(critical) == 1 and "after 8 tries" in critical[0] and "503" in critical[0]
    assert "Traceback" not in err
    assert sb.stats()["status"]["user"][503] == client_module.MAX_SERVER_TRIES
    # what was emitted before the failure is still a valid Singer stream ending in STATE
    messages = [json.loads(line) for line in out.splitlines()]
    assert messages and messages[-1]["type"] == "STATE"


def test_401_is_not_retried(sandbox, tmp_path):
    run = run_tap([], tmp_path, config={**config_for(sandbox), "api_key": "bad-key"})
    assert run.returncode == 1
    assert sandbox.stats()["requests"]["me"] == 1
    assert "api_key" in run.stderr and "bad-key" not in run.stderr


def test_deleted_document_404_on_any_page_is_asked_again_and_loses_nothing(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=25, leads=300, activities_per_lead=1, events=50, days=200)
    # The first request of an opportunities window, and a page of custom field definitions.
    sb.faults.deleted_404(2, group="opportunity", any_page=True)
    sb.faults.deleted_404(1, group="custom_field", any_page=True)
    full_sync(sb, tmp_path)
    assert sb.stats()["status"]["opportunity"].get(404) == 2
    assert sb.stats()["status"]["custom_field"].get(404) == 1


def test_a_404_for_a_path_that_does_not_exist_still_fails_clearly(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=25, **SMALL)
    monkeypatch.setattr(Opportunities, "path", "no-such-list")
    run = run_in_process([], tmp_path, capsys, config=config_for(sb))
    assert run.returncode == 1
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == 1 and critical[0].startswith("opportunities failed") and "404" in critical[0], critical
    asked = [r for r in sb.request_log if r["path"] == "/no-such-list/"]
    assert asked and len(asked) % (DELETED_RETRIES + 1) == 0, "asked again DELETED_RETRIES times, then failed"
    assert run.final_state["bookmarks"]["tasks"], "the other streams went on"


# Windowed streams, their replication key and how far below its bookmark a run reads again.
FLOORS = {"leads": ("date_updated", timedelta(0)), "tasks": ("date_updated", timedelta(0)),
          "activities": ("date_created", timedelta(hours=24))}


@pytest.mark.parametrize("concurrency", [1, 6])
def test_sigkill_mid_sync_then_resume_loses_nothing(sandbox_factory, tmp_path, concurrency):
    sb = sandbox_factory(seed=27, leads=150, activities_per_lead=4, events=300, days=300, latency=0.01)
    config = config_for(sb, max_concurrency=concurrency)
    started = now_utc()
    proc = subprocess.Popen([sys.executable, "-m", "tap_close", "--config", write_json(tmp_path / "c.json", config)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = []
    for line in proc.stdout:
        message = json.loads(line)
        first.append(message)
        value = message.get("value", {})
        # Two of the windowed streams below with a bookmark of their replication key (not only
        # ranges finished out of order: test_resume.py checks those).
        bookmarked = [stream for stream, (key, _) in FLOORS.items()
                      if (value.get("bookmarks", {}).get(stream) or {}).get(key)]
        if message["type"] == "STATE" and len(bookmarked) >= 2 and value["currently_syncing"]:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    last_state = [m for m in first if m["type"] == "STATE"][-1]["value"]
    interrupted = last_state["currently_syncing"]
    assert interrupted
    second = run_tap([], tmp_path, config=config, state=last_state)
    assert second.returncode == 0, second.stderr[-2000:]
    plan = [line.split(":")[0] for line in log_lines(second.stderr, "INFO") if ": syncing from" in line]
    assert plan[0] == interrupted, "the interrupted stream resumes first"
    assert set(plan) == set(STREAMS), "then all the others, those before it included"
    ids = {}
    for stream in STREAMS:
        ids[stream] = {m["record"]["id"] for m in first if m["type"] == "RECORD" and m["stream"] == stream} \
            | second.ids(stream)
    expected = expected_ids(sb, parse_datetime(START), started)
    assert_complete(expected, ids.__getitem__)
    # Streams bookmarked before the kill resume from their bookmark, not from the start date.
    resumed = []
    for stream, (key, lookback) in FLOORS.items():
        mark = (last_state["bookmarks"].get(stream) or {}).get(key)
        if mark is None:   # only ranges finished out of order (test_resume.py checks those)
            continue
        floor = parse_datetime(mark) - lookback
        records = [r for r in second.records(stream) if "_sdc_deleted_at" not in r]
        assert all(parse_datetime(r[key]) >= floor - timedelta(minutes=1) for r in records), stream
        resumed += records
    assert resumed, "some bookmarked stream should have records after its bookmark to check"


def test_concurrent_writes_are_emitted_in_this_run_or_the_next(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=28, leads=200, activities_per_lead=3, events=200, days=300, latency=0.005)
    leads = sb.store.records("lead")
    edited, doomed = leads[:150], leads[150:]
    tasks = [t for t in sb.store.records("task") if t["lead_id"] in {lead["id"] for lead in edited}]
    stop, done, errors = threading.Event(), [], []

    def writer():
        try:
            for i in range(60):
                if stop.is_set():
                    return
                sb.update_lead(edited[i % len(edited)]["id"], description=f"edit {i}")
                sb.update_task(tasks[i % len(tasks)]["id"], text=f"edit {i}")
                sb.add_activity(edited[(i * 7) % len(edited)]["id"], _type="Note", note=f"new {i}")
                if i % 5 == 0:
                    sb.delete_lead(doomed[i // 5]["id"])
                done.append(i)
                time.sleep(0.02)
        except Exception as exc:  # surfaced below: a silent writer would make the test vacuous
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    first = run_tap([], tmp_path, config=config_for(sb))
    mutations_during_run = len(done)
    stop.set()
    thread.join()
    assert not errors, errors
    assert mutations_during_run >= 10, "the writes should overlap the run"
    assert first.returncode == 0, first.stderr[-2000:]
    # One deletion surely after its lead was emitted: the check below then has a case to check.
    late_victim = next(lead["id"] for lead in sb.store.records("lead") if lead["id"] in first.ids("leads"))
    sb.delete_lead(late_victim)
    second = run_tap([], tmp_path, config=config_for(sb), state=first.final_state)
    assert second.returncode == 0
    for stream, kind, field in (("leads", "lead", "date_updated"), ("tasks", "task", "date_updated")):
        emitted = {}
        for run in (first, second):
            for record in run.records(stream):
                if "_sdc_deleted_at" in record:
                    continue
                emitted.setdefault(record["id"], set()).add(parse_datetime(record[field]))
        for record in sb.store.records(kind):
            if parse_datetime(record[field]) >= parse_datetime(START):
                assert parse_datetime(record[field]) in emitted.get(record["id"], set()), \
                    (stream, record["id"], "latest version never emitted")
    # A lead emitted by the first run and deleted since is deleted by the second (whether a
    # concurrent deletion lands after its lead was read depends on timing; the late victim's
    # surely does).
    gone = ({lead["id"] for lead in doomed} | {late_victim}) - {lead["id"] for lead in sb.store.records("lead")}
    deleted_in_second = {r["id"] for r in second.records("leads") if "_sdc_deleted_at" in r}
    assert late_victim in gone & first.ids("leads")
    assert gone & first.ids("leads") <= deleted_in_second
    all_activities = first.ids("activities") | second.ids("activities")
    expected_activities = {a["id"] for a in sb.store.records("activity")
                           if parse_datetime(a["date_created"]) >= parse_datetime(START)}
    assert expected_activities and expected_activities <= all_activities


def test_user_agent_and_request_timeout_are_applied(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=29, **SMALL)
    sb.faults.latency(1.0, group="user")
    monkeypatch.setattr(client_module, "RETRY_FACTOR", 0.01)
    run = run_in_process([], tmp_path, capsys, config=config_for(sb, user_agent="acme-etl (ops@acme.test)",
                                                                  request_timeout=0.2))
    assert run.returncode == 1
    assert "ReadTimeout" in run.stderr and "GET user" in run.stderr
    agents = {r["user_agent"] for r in sb.request_log}
    assert agents == {"acme-etl (ops@acme.test)"}
    assert run.messages[-1]["type"] == "STATE"


def test_every_state_is_true_when_windows_finish_out_of_order(sandbox_factory, tmp_path):
    """With concurrent windows (the newest starts first), each STATE's bookmark must only
    cover records already written before that STATE."""
    sb = sandbox_factory(seed=30, leads=150, activities_per_lead=4, events=100, days=400, latency=0.01)
    run = run_tap([], tmp_path, config=config_for(sb, start_date="2025-01-01T00:00:00Z", max_concurrency=8))
    assert run.returncode == 0, run.stderr[-2000:]
    fields = {"activities": "date_created", "leads": "date_updated", "tasks": "date_updated"}
    universe = {stream: {r["id"]: parse_datetime(r[field]) for r in sb.store.records(kind)}
                for (stream, field), kind in zip(fields.items(), ("activity", "lead", "task"))}
    written = {stream: set() for stream in fields}
    checked = 0
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] in written:
            written[message["stream"]].add(message["record"]["id"])
        elif message["type"] == "STATE":
            for stream, field in fields.items():
                mark = message["value"]["bookmarks"].get(stream, {}).get(field)
                if mark is None:
                    continue
                covered = {i for i, t in universe[stream].items()
                           if parse_datetime("2025-01-01T00:00:00Z") <= t < parse_datetime(mark)}
                assert covered <= written[stream], (stream, mark, len(covered - written[stream]))
                checked += bool(covered)
    assert checked > 10, "STATEs whose bookmark covers records: the check above must have had some"


def test_sigterm_ends_with_whole_lines_and_a_state(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=31, leads=150, activities_per_lead=4, events=200, days=300, latency=0.02)
    config = write_json(tmp_path / "c.json", config_for(sb))
    with open(tmp_path / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "tap_close", "--config", config], stdout=subprocess.PIPE,
                                stderr=stderr)
        seen = 0
        for _ in proc.stdout:
            seen += 1
            if seen == 50:
                proc.send_signal(signal.SIGTERM)
                break
        proc.stdout.read()   # keep reading: a closed pipe would stop the tap before SIGTERM does
        proc.wait(timeout=60)
    err = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 143, err[-2000:]
    assert "stopped by SIGTERM" in err and "Traceback" not in err


def test_sigterm_leaves_whole_lines_and_a_final_state(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=32, leads=150, activities_per_lead=4, events=200, days=300, latency=0.02)
    config = write_json(tmp_path / "c.json", config_for(sb))
    out_path = tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tap_close", "--config", config], stdout=out,
                                stderr=subprocess.DEVNULL)
        # Until the tap has written a good part of its output (or ended by itself).
        while out_path.stat().st_size < 200_000 and proc.poll() is None:
            time.sleep(0.02)
        assert proc.poll() is None, "the tap ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 143
    raw = out_path.read_bytes()
    assert raw.endswith(b"\n")
    messages = [json.loads(line) for line in raw.split(b"\n") if line]   # every line is whole
    assert messages[-1]["type"] == "STATE"


def test_a_fatal_error_does_not_wait_for_other_windows_retries(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=33, **SMALL)
    sb.faults.fail_burst(1000, status=503, group="task")          # tasks keep retrying...
    sb.faults.fail_burst(1000, status=401, group="opportunity")  # ...when the key is refused
    run = run_tap([], tmp_path, config=config_for(sb))
    assert run.returncode == 1
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == 1 and "api_key" in critical[0] and "GET opportunity" in critical[0], critical
    assert run.messages[-1]["type"] == "STATE"
    # The tasks' retry budget is MAX_SERVER_TRIES tries a window (minutes of waits). After the
    # fatal answer, a task window may have one try already on its way, never another: the run
    # stops within one backoff wait instead of waiting the budget out.
    log = sb.request_log
    fatal = next(i for i, r in enumerate(log) if r["group"] == "opportunity")
    windows = {}
    for i, r in enumerate(log):
        if r["group"] == "task":
            window = windows.setdefault(r["params"].get("date_updated__gte"), {"tries": 0, "after_fatal": 0})
            window["tries"] += 1
            window["after_fatal"] += i > fatal
    assert windows, "the tasks should have started before the leads failed"
    assert all(w["tries"] < client_module.MAX_SERVER_TRIES and w["after_fatal"] <= 1 for w in windows.values()), \
        windows


class _ForwardProxy:
    """A plain-HTTP forward proxy: notes each request line and its Proxy-Authorization, then
    passes the request on to the host it names."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import http.client
        from urllib.parse import urlsplit
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")}
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://proxy-user:proxy-pw@127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("bypass", [False, True])
def test_proxy_settings_from_the_environment_are_honoured(sandbox_factory, tmp_path, monkeypatch, capsys, bypass):
    """HTTP_PROXY (with its credentials) carries every request; NO_PROXY exempts a host."""
    import base64
    sb = sandbox_factory(seed=34, **SMALL)
    proxy = _ForwardProxy()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                     "no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        if bypass:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        started = now_utc()
        run = run_in_process([], tmp_path, capsys, config=config_for(sb))
    finally:
        proxy.close()
    assert run.returncode == 0, run.stderr[-3000:]
    assert_complete(expected_ids(sb, parse_datetime(START), started), run.ids)
    if bypass:
        assert sb.request_log, "the requests went straight to the sandbox..."
        assert proxy.seen == [], "...and none through the proxy"
        return
    assert len(proxy.seen) == len(sb.request_log)
    credentials = "Basic " + base64.b64encode(b"proxy-user:proxy-pw").decode()
    assert {auth for _, _, auth in proxy.seen} == {credentials}
    # through a plain-HTTP proxy the request line names the whole URL
    assert all(line.startswith(sb.url + "/") for _, line, _ in proxy.seen)
    assert "proxy-pw" not in run.stderr and sb.api_key not in run.stderr


def test_a_server_that_stops_answering_is_retried_then_fails_loudly(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=35, **SMALL)
    sb.faults.die_after(20)   # past discovery, during the sync
    monkeypatch.setattr(client_module, "RETRY_FACTOR", 0.01)
    run = run_in_process([], tmp_path, capsys, config=config_for(sb))
    assert run.returncode == 1
    critical = log_lines(run.stderr, "CRITICAL")
    # Each stream fails on its own (no stream can fix another's connection), each one line.
    assert critical and all(f"after {client_module.MAX_SERVER_TRIES} tries" in line and "Error on " in line
                            for line in critical), run.stderr[-2000:]
    assert "retrying" in run.stderr and "Traceback" not in run.stderr and sb.api_key not in run.stderr
    assert run.messages[-1]["type"] == "STATE"

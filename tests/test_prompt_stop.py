"""End to end: SIGTERM and SIGINT stop a run promptly and cleanly, even while a request waits.

What the tap promises (README "Reliability", "Interrupted runs"; tap_close/cli.py, sync.py,
client.py): on SIGTERM (a scheduler, Meltano's `--timeout`) or SIGINT (Ctrl-C) the run stops
at once, also while a request is backing off after 5xx answers, pacing (waiting out a 429's
Retry-After or a spent RateLimit budget) or waiting on a slow response; stdout has no torn
line; the last message is a true STATE; the exit status is 143 after SIGTERM, 130 after
SIGINT (128 + the signal, the shell's convention); stderr has no traceback.

Promptness is shown by ORDER, never by a wall-clock bound: the sandbox logs a request when it
answers it (close_sandbox/app.py: `_record` after the handler, after any latency), so when the
tap has exited before the request it was waiting to make (or waiting on) appears in the
sandbox's request log, it did not wait. Every fault below is on the `user` endpoint group only,
which only the users stream reads (tap_close/streams/users.py); the other streams run on.
Sandbox faults: close_sandbox/faults.py (fail_burst, rate_limit_storm, latency).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from expectations import bookmark_entry
from tap_close.timeutil import parse_datetime
from tap_runner import tap_config, write_json

REPO = Path(__file__).resolve().parent.parent
START = "2025-09-01T00:00:00Z"
SMALL = dict(leads=30, activities_per_lead=2, tasks_per_lead=1, events=60, days=200)
CONCURRENCY = 3
# 128 + the signal number: what a shell reports for a process the signal ended.
SIGNALS = [pytest.param(signal.SIGTERM, 143, id="SIGTERM"), pytest.param(signal.SIGINT, 130, id="SIGINT")]
USER = "user"                 # the sandbox's endpoint group of GET /user/ (close_sandbox/app.py group_of)
POLL = 0.01                   # seconds between looks at the request log or the output
# Waiting for the tap to exit is not a promptness check (the request log is): this only turns a
# deadlocked tap into a failure instead of a hung suite. Far above the longest natural end of
# any case below (a 120 s Retry-After, or the 5xx retry budget of about two minutes).
DEADLOCK_GUARD = 900
# After the exit, a look at the log this much later: a process that exited sends nothing more.
SETTLE = 1.0
# The pacing case's Retry-After: longer than anything else in the case takes, so that a tap
# that waits it out is told apart from one that stops at once.
RETRY_AFTER = 120
# Streams whose bookmark says which records are written (README table: on a first sync, every
# record with start date <= its replication key < the bookmark), with their store kind and key.
# users is the stream every case below holds up: a bookmark for it would be a lie.
BOOKMARKED = {"leads": ("lead", "date_updated"), "contacts": ("contact", "date_updated"),
              "opportunities": ("opportunity", "date_updated"), "tasks": ("task", "date_updated"),
              "activities": ("activity", "date_created"), "users": ("user", "date_updated"),
              "custom_fields": ("custom_field", "date_updated")}


class TapProcess:
    """`tap-close` as a scheduler runs it: a subprocess whose stdout is read line by line (by
    a thread, so the tap never blocks on a full pipe) and whose stderr goes to a file."""

    def __init__(self, sb, tmp_path: Path):
        config = write_json(tmp_path / "config.json", tap_config(sb, START, max_concurrency=CONCURRENCY))
        self.stderr_path = tmp_path / "stderr.txt"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "tap_close", "--config", config], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self.lines: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.lines.append(line)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def states_so_far(self) -> list[dict]:
        """The STATE values among the whole lines read so far."""
        states = []
        for line in list(self.lines):
            if line.endswith(b"\n") and b'"type":"STATE"' in line.replace(b" ", b""):
                states.append(json.loads(line)["value"])
        return states

    def wait_until(self, condition) -> bool:
        """Poll `condition` until it holds or the tap has exited; whether it holds."""
        while not condition():
            if not self.running:
                return condition()
            time.sleep(POLL)
        return True

    def signal(self, signum) -> int:
        """Send the signal; returns how many stdout lines had been read before it."""
        read = len(self.lines)
        self.proc.send_signal(signum)
        return read

    def wait_exit(self) -> int:
        self.proc.wait(timeout=DEADLOCK_GUARD)
        self._reader.join()
        return self.proc.returncode

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def kill(self):
        """Cleanup: whatever happened, no tap outlives its test."""
        if self.running:
            self.proc.kill()
        self.proc.wait()
        self._reader.join()
        self._stderr.close()


@pytest.fixture
def tap_process(tmp_path):
    started = []

    def start(sb):
        tap = TapProcess(sb, tmp_path)
        started.append(tap)
        return tap

    try:
        yield start
    finally:
        for tap in started:
            tap.kill()


def requests_to(sb, group=USER) -> list[dict]:
    return [r for r in list(sb.request_log) if r["group"] == group]


def has_bookmarks(tap, sb) -> bool:
    """A STATE whose bookmarks cover some record was printed: the check of the final STATE
    against it will not be vacuous."""
    states = tap.states_so_far()
    return bool(states) and untrue_bookmarks(sb, states[-1], [])[1] > 0


# -- the checks every case ends with ----------------------------------------------------------

def parsed_output(tap) -> list[dict]:
    """Every stdout line, parsed: a torn line (cut mid-write) fails here, named."""
    raw = b"".join(tap.lines)
    assert raw, "the tap printed nothing"
    assert raw.endswith(b"\n"), ("the last line is torn", raw[-200:])
    messages, torn = [], []
    for number, line in enumerate(raw.split(b"\n")[:-1], 1):
        try:
            messages.append(json.loads(line))
        except ValueError:
            torn.append((number, line[:120]))
    assert not torn, ("torn stdout lines", torn[:3])
    return messages


def bookmark_regressions(before: dict, after: dict) -> list[str]:
    """How the final STATE fails to equal or extend the last one printed before the signal."""
    problems = []
    for stream, entry in before["bookmarks"].items():
        final = after["bookmarks"].get(stream)
        if not isinstance(final, dict):
            problems.append(f"{stream}: bookmark dropped")
            continue
        # (The windows finished beyond a bookmark come and go as the bookmark passes them.)
        for key, value in bookmark_entry(entry).items():
            if key == "version_complete":
                if value and final.get("version") == entry.get("version") and not final.get(key):
                    problems.append(f"{stream}: completed version marked incomplete")
            elif key == "version":
                if not isinstance(final.get(key), int) or final[key] < value:
                    problems.append(f"{stream}: version {value} became {final.get(key)}")
            elif final.get(key) is None or parse_datetime(final[key]) < parse_datetime(value):
                problems.append(f"{stream}.{key}: {value} went back to {final.get(key)}")
    return problems


def untrue_bookmarks(sb, state: dict, messages: list[dict]) -> tuple[dict, int]:
    """Per bookmarked stream, the records its bookmark covers (start <= field < bookmark) that no
    RECORD carried: a bookmark for a window not fully written. Also how many records the
    bookmarks covered in all (0 would make the check vacuous)."""
    start = parse_datetime(START)
    emitted = {}
    for message in messages:
        if message.get("type") == "RECORD":
            emitted.setdefault(message["stream"], set()).add(message["record"]["id"])
    unwritten, covered_total = {}, 0
    for stream, (kind, field) in BOOKMARKED.items():
        mark = (state["bookmarks"].get(stream) or {}).get(field)
        if mark is None:
            continue
        covered = {r["id"] for r in sb.store.records(kind)
                   if start <= parse_datetime(r[field]) < parse_datetime(mark)}
        covered_total += len(covered)
        missing = covered - emitted.get(stream, set())
        if missing:
            unwritten[stream] = (len(missing), sorted(missing)[:3])
    return unwritten, covered_total


def assert_clean_stop(sb, tap, read_before_signal: int, expected_status: int) -> None:
    status = tap.proc.returncode
    err = tap.stderr()
    assert status == expected_status, (status, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    messages = parsed_output(tap)
    assert messages[-1]["type"] == "STATE", messages[-1]
    final = messages[-1]["value"]
    before = [m["value"] for m in messages[:read_before_signal] if m["type"] == "STATE"]
    assert before, "no STATE was printed before the signal: nothing to compare the final one with"
    regressions = bookmark_regressions(before[-1], final)
    assert not regressions, ("the final STATE does not equal or extend the last one before the signal",
                             regressions, before[-1], final)
    unwritten, covered = untrue_bookmarks(sb, final, messages)
    assert covered, ("the final STATE's bookmarks cover no record: nothing was checked", final)
    assert not unwritten, ("the final STATE bookmarks windows whose records were not all written", unwritten)


# -- during a backoff ---------------------------------------------------------------------------

@pytest.mark.parametrize("signum, status", SIGNALS)
def test_a_signal_during_backoff_stops_before_the_next_attempt(sandbox_factory, tap_process, signum, status):
    """Users retry 5xx with exponential backoff and full jitter (client.py: waits drawn from
    [0, 1], [0, 2], [0, 4], [0, 8] s ...). Signalled after the third attempt, the tap may find
    the fourth already on its way (its wait can be a fraction of a second), never a fifth."""
    sb = sandbox_factory(seed=61, **SMALL)
    sb.faults.fail_burst(1000, status=503, group=USER)
    tap = tap_process(sb)
    ready = tap.wait_until(lambda: len(requests_to(sb)) >= 3 and has_bookmarks(tap, sb))
    assert ready, ("the tap ended before its third attempt on /user/", tap.stderr()[-3000:])
    attempts_at_signal = len(requests_to(sb))
    read = tap.signal(signum)
    tap.wait_exit()
    attempts_at_exit = len(requests_to(sb))
    time.sleep(SETTLE)
    attempts_later = len(requests_to(sb))

    assert attempts_at_signal >= 3 and all(r["status"] == 503 for r in requests_to(sb)), requests_to(sb)
    # At most the attempt already scheduled a fraction of a second after the signal (ideally
    # none); never the one after it (the fifth, when signalled at the third), which is due
    # after a further wait of up to 8 s: a tap that went on retrying would have it in the log.
    assert attempts_at_exit - attempts_at_signal <= 1, (attempts_at_signal, attempts_at_exit)
    assert attempts_later == attempts_at_exit, "an attempt arrived after the tap had exited"
    assert_clean_stop(sb, tap, read, status)


# -- during pacing ------------------------------------------------------------------------------

@pytest.mark.parametrize("signum, status", SIGNALS)
def test_a_signal_while_pacing_stops_without_asking_again(sandbox_factory, tap_process, signum, status):
    """A 429 with `Retry-After: 120`: the tap waits 120 s before asking /user/ again
    (client.py, Close's rate-limit docs: wait as long as Retry-After says). Signalled during
    that wait, it exits with the retried request never sent."""
    sb = sandbox_factory(seed=62, **SMALL)
    sb.faults.rate_limit_storm(1, group=USER, retry_after=RETRY_AFTER)
    tap = tap_process(sb)
    ready = tap.wait_until(lambda: any(r["status"] == 429 for r in requests_to(sb)) and has_bookmarks(tap, sb))
    assert ready, ("the tap ended before its 429 on /user/", tap.stderr()[-3000:])
    read = tap.signal(signum)
    tap.wait_exit()
    exit_seen = time.time()
    at_exit = [r["status"] for r in requests_to(sb)]
    time.sleep(SETTLE)

    assert at_exit == [429], ("the retried /user/ request reached Close before the tap exited", at_exit)
    assert [r["status"] for r in requests_to(sb)] == [429], "a request arrived after the tap had exited"
    # A tap that waited the 120 s out and then, seeing the stop, did not send the retry would
    # pass the two checks above: its exit must also come before the retry was due. Both times
    # are the host's (the log's `ts` is time.time() as the 429 was answered); the exit is seen
    # after it happened, so this errs on the tap's side.
    retry_due = requests_to(sb)[0]["ts"] + RETRY_AFTER
    assert exit_seen < retry_due, ("the tap exited only after the retry was due", exit_seen - retry_due)
    assert_clean_stop(sb, tap, read, status)


# -- during a slow response ---------------------------------------------------------------------

@pytest.mark.parametrize("signum, status", SIGNALS)
def test_a_signal_during_a_slow_response_stops_without_waiting_for_it(sandbox_factory, tap_process, signum,
                                                                         status):
    """Close takes 60 s to answer /user/. Signalled while that request is outstanding, the tap
    exits without its answer: the sandbox logs the request only once it has answered, so the
    log must still be without it when the tap has exited."""
    sb = sandbox_factory(seed=63, **SMALL)
    sb.faults.latency(60, group=USER)
    # Outstanding means received and not yet answered: the sandbox asks its faults for the
    # group's latency as a request arrives, before sleeping it (close_sandbox/app.py _pipeline).
    arrived = threading.Event()
    latency_for = sb.faults.delay_for

    def noting_arrivals(group):
        if group == USER:
            arrived.set()
        return latency_for(group)

    sb.faults.delay_for = noting_arrivals
    tap = tap_process(sb)

    def outstanding():
        return arrived.is_set() and not requests_to(sb) and has_bookmarks(tap, sb)

    ready = tap.wait_until(outstanding)
    assert ready, ("the /user/ request was never outstanding", tap.stderr()[-3000:])
    others_answered = len(sb.request_log)
    read = tap.signal(signum)
    tap.wait_exit()
    answered = requests_to(sb)

    assert arrived.is_set() and others_answered, "the /user/ request reached the sandbox, other requests were answered"
    assert answered == [], ("the tap waited for the slow /user/ answer before exiting", answered)
    assert not tap.running
    assert_clean_stop(sb, tap, read, status)

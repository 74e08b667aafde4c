"""python -m close_sandbox --port 8765 --seed 1 --leads 500 --api-key demo-key ...

Prints `close-sandbox listening on http://127.0.0.1:PORT/api/v1` once ready,
logs `METHOD PATH STATUS` per request to stderr (never credentials), and
runs until SIGTERM/SIGINT."""
import argparse
import signal
import sys
import threading

from .sandbox import Sandbox


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m close_sandbox", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument("--api-key", default="test-key")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--leads", type=int, default=100)
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--activities-per-lead", type=int, default=5)
    p.add_argument("--tasks-per-lead", type=int, default=2)
    p.add_argument("--events", type=int, default=300)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--minute-cluster", type=int, default=0)
    p.add_argument("--day-cluster", type=int, default=0)
    p.add_argument("--skew", action="store_true",
                   help="an import day, one-minute bursts and growth over time, as real accounts")
    p.add_argument("--max-skip", type=int, default=250000)
    p.add_argument("--rate", type=float, default=None, help="tokens per second per endpoint group")
    p.add_argument("--burst", type=int, default=None)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument("--rate-limit-body", choices=["legacy", "empty"], default="legacy")
    p.add_argument("--no-retry-after", action="store_true", help="429s carry only the RateLimit header")
    p.add_argument("--fail-every", type=int, default=None, metavar="K")
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--fail-burst", type=int, default=None, metavar="N")
    p.add_argument("--deleted-404", type=int, default=None, metavar="N")
    p.add_argument("--offset-shift", type=int, default=None, metavar="N",
                   help="the next N list requests with _skip>0 really delete the record before the offset")
    p.add_argument("--storm", type=int, default=None, metavar="N", help="next N requests answer 429")
    p.add_argument("--die-after", type=int, default=None, metavar="N")
    p.add_argument("--search-index-lag", type=float, default=0.0, metavar="S",
                   help="/data/search/ does not show records updated in the last S seconds")
    p.add_argument("--search-time-precision", choices=["us", "ms", "s"], default="ms",
                   help="/data/search/ compares and sorts dates truncated to this unit")
    p.add_argument("--search-cursor-cap", type=int, default=10000, metavar="N",
                   help="objects one /data/search/ cursor walk may return")
    p.add_argument("--search-cursor-ttl", type=float, default=30.0, metavar="S",
                   help="seconds a /data/search/ cursor stays valid")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    p.add_argument("--custom-activity-record-type", choices=["CustomActivity", "Custom"],
                   default="CustomActivity", help="_type value custom activity records carry")
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    sb = Sandbox(api_key=a.api_key, seed=a.seed, leads=a.leads, users=a.users,
                 activities_per_lead=a.activities_per_lead, tasks_per_lead=a.tasks_per_lead,
                 events=a.events, days=a.days, minute_cluster=a.minute_cluster,
                 day_cluster=a.day_cluster, skew=a.skew, max_skip=a.max_skip, rate=a.rate, burst=a.burst,
                 latency=a.latency, rate_limit_body=a.rate_limit_body,
                 retry_after_header=not a.no_retry_after, host=a.host, port=a.port,
                 log=None if a.quiet else sys.stderr,
                 custom_activity_record_type=a.custom_activity_record_type,
                 search_index_lag=a.search_index_lag, search_time_precision=a.search_time_precision,
                 search_cursor_cap=a.search_cursor_cap, search_cursor_ttl=a.search_cursor_ttl)
    if a.fail_every:
        sb.faults.fail_every(a.fail_every, status=a.fail_status)
    if a.fail_burst:
        sb.faults.fail_burst(a.fail_burst, status=a.fail_status)
    if a.deleted_404:
        sb.faults.deleted_404(a.deleted_404)
    if a.offset_shift:
        sb.faults.offset_shift(a.offset_shift)
    if a.storm:
        sb.faults.rate_limit_storm(a.storm, body=a.rate_limit_body, retry_after_header=not a.no_retry_after)
    if a.die_after is not None:
        sb.faults.die_after(a.die_after)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sb.build_all()   # a process serving a bench or a demo: no request pays for generation
    sb.start()
    print("close-sandbox listening on %s" % sb.url, flush=True)
    while not stop.wait(0.2):
        if sb.dead:
            break
    sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

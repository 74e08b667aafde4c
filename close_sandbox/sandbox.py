"""The Sandbox facade: generates the organization, serves it over HTTP in a
daemon thread, and exposes mutations, faults, limits, the request log and
stats to tests."""
import threading
import time

from . import custom_objects, search, sequences, timefmt
from .app import App
from .clock import Clock
from .faults import Faults
from .generator import generate
from .params import PagingLimits
from .ratelimit import RateLimits
from .resources import QueryCache
from .server import SandboxServer
from .store import Store
from .writer import KINDS as WRITER_KINDS, Writer


class Sandbox:
    def __init__(self, api_key="test-key", seed=1, leads=100, users=8, activities_per_lead=5,
                 tasks_per_lead=2, events=300, days=365, minute_cluster=0, day_cluster=0,
                 max_skip=250000, rate=None, burst=None, latency=0.0, rate_limit_body="legacy",
                 now=None, retry_after_header=True, host="127.0.0.1", port=0, log=None,
                 custom_activity_record_type="CustomActivity", search_index_lag=0.0,
                 search_time_precision="ms", search_cursor_cap=10000, search_cursor_ttl=30.0,
                 clock_offset=0.0, skew=False):
        if rate_limit_body not in ("legacy", "empty"):
            raise ValueError("rate_limit_body must be 'legacy' or 'empty'")
        self.api_key = api_key
        self.seed = seed
        self.host, self.port = host, port
        self.clock = Clock(now, offset=clock_offset)   # seconds Close's now runs ahead of ours (clock.py)
        data = generate(seed=seed, leads=leads, users=users, activities_per_lead=activities_per_lead,
                        tasks_per_lead=tasks_per_lead, events=events, days=days,
                        minute_cluster=minute_cluster, day_cluster=day_cluster,
                        now_us=self.clock.now_us(),
                        # `_type` of custom activity records: "CustomActivity" or "Custom" (activities.py)
                        custom_activity_record_type=custom_activity_record_type,
                        # an import day, one-minute bursts and growth, as real accounts (skew.py)
                        skew=skew)
        self._skew_layout = data.get("skew")
        self.store = Store(data, self.clock, seed)
        self.limits = RateLimits(rate, burst, rate_limit_body, retry_after_header)
        self.faults = Faults(latency)
        self.faults._on_die = self._die
        self.paging = PagingLimits(max_skip)
        self.query_cache = QueryCache()
        # POST /data/search/ (search.py); plain attributes, so tests may change them at run time.
        search.precision_unit(search_time_precision)        # fail here, not at the first search
        self.search_index_lag = search_index_lag            # seconds the index lags writes
        self.search_time_precision = search_time_precision  # "us" | "ms" | "s"
        self.search_cursor_cap = search_cursor_cap          # objects one cursor walk may return
        self.search_cursor_ttl = search_cursor_ttl          # seconds a cursor stays valid
        self.request_log = []
        self._log = log
        self._stats_lock = threading.Lock()
        self._stats = {"requests": {}, "status": {}, "rate_limited": {}}
        self.dead = False
        self._server = None
        self._thread = None
        self.url = None
        self._app = App(self)
        self._writers = []

    # -- lifecycle --------------------------------------------------------------
    def build_all(self):
        """Generate now what is otherwise generated at its first request (sequences and custom
        objects, which most tests never read). Close builds nothing at request time: a first
        request there answers as fast as any other, and does not hold the store's lock (so
        every other request) for the second generating them takes on a large account."""
        sequences.data_of(self)
        custom_objects.of(self)
        return self

    def start(self, port=None):
        if self._server is not None:
            return self
        self._server = SandboxServer((self.host, self.port if port is None else port), self._app,
                                     on_crash=self._mark_dead)
        self.port = self._server.server_address[1]
        self.url = "http://%s:%d/api/v1" % (self.host, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="close-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        for writer in self._writers:
            writer.stop(raise_error=False)
        srv, self._server = self._server, None
        if srv is None:
            return
        if not srv.crashed:
            srv.shutdown()
            srv.server_close()
        srv.drop_connections()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _mark_dead(self):
        self.dead = True

    def _die(self):
        self.dead = True
        if self._server is not None:
            self._server.crash()

    # -- observability ------------------------------------------------------------
    def _record(self, method, path, group, params, status, user_agent=None, body=None):
        # Never the Authorization header: the log may be printed by a failing test.
        entry = {"method": method, "path": path, "group": group, "params": dict(params),
                 "status": status, "ts": time.time(), "user_agent": user_agent}
        if body is not None:     # the parsed JSON body of a search (app.py); other entries have none
            entry["body"] = body
        self.request_log.append(entry)
        with self._stats_lock:
            s = self._stats
            s["requests"][group] = s["requests"].get(group, 0) + 1
            codes = s["status"].setdefault(group, {})
            codes[status] = codes.get(status, 0) + 1
            if status == 429:
                s["rate_limited"][group] = s["rate_limited"].get(group, 0) + 1
        if self._log is not None:
            try:
                self._log.write("%s %s %d\n" % (method, path, status))
                self._log.flush()
            except (OSError, ValueError):
                pass

    def stats(self):
        with self._stats_lock:
            return {"requests": dict(self._stats["requests"]),
                    "status": {g: dict(c) for g, c in self._stats["status"].items()},
                    "rate_limited": dict(self._stats["rate_limited"])}

    @property
    def skew(self):
        """None without skew; else {"import": (start, end), "campaigns": [minute starts],
        "bulk_edits": [minute starts]} as aware datetimes (skew.py)."""
        if self._skew_layout is None:
            return None
        at = timefmt.from_us
        return {"import": tuple(at(us) for us in self._skew_layout["import"]),
                "campaigns": [at(us) for us in self._skew_layout["campaigns"]],
                "bulk_edits": [at(us) for us in self._skew_layout["bulk_edits"]]}

    @property
    def clusters(self):
        """{"minute"|"day": (start, end)} aware datetimes of the cluster windows."""
        return {k: (timefmt.from_us(lo), timefmt.from_us(hi)) for k, (lo, hi) in self.store.windows.items()}

    # -- paging knobs --------------------------------------------------------------
    def max_skip(self, group, n):
        self.paging.skip[group] = int(n)

    def max_limit(self, group, n):
        self.paging.limit[group] = int(n)

    # -- mutations (delegated; timestamps are the sandbox clock's now) --------------
    def add_lead(self, **overrides):
        return self.store.add_lead(**overrides)

    def update_lead(self, lead_id, **changes):
        return self.store.update_lead(lead_id, **changes)

    def delete_lead(self, lead_id):
        return self.store.delete_lead(lead_id)

    def delete_child(self, kind, rid):
        """kind: contact, opportunity, task or activity."""
        return self.store.delete_child(kind, rid)

    def add_activity(self, lead_id, _type="Note", **overrides):
        return self.store.add_activity(lead_id, _type, **overrides)

    def update_activity(self, activity_id, **changes):
        return self.store.update_activity(activity_id, **changes)

    def add_task(self, lead_id, _type="lead", **overrides):
        return self.store.add_task(lead_id, _type, **overrides)

    def update_task(self, task_id, **changes):
        return self.store.update_task(task_id, **changes)

    def update_contact(self, contact_id, **changes):
        return self.store.update_contact(contact_id, **changes)

    def update_opportunity(self, opportunity_id, **changes):
        return self.store.update_opportunity(opportunity_id, **changes)

    def update_user(self, user_id, **changes):
        return self.store.update_user(user_id, **changes)

    def update_custom_field(self, object_type, cf_id, **changes):
        return self.store.update_custom_field(object_type, cf_id, **changes)

    def add_event(self, **fields):
        return self.store.add_event(**fields)

    # -- the concurrent writer (writer.py) ----------------------------------------
    def writer(self, rate=20.0, kinds=None, seed=0):
        """A Writer changing this organization at `rate` writes per second once started
        (`.start()`/`.stop()` or `with`): `kinds` among lead, contact, opportunity, task,
        activity, user (default all)."""
        writer = Writer(self.store, rate=rate, kinds=WRITER_KINDS if kinds is None else kinds, seed=seed)
        self._writers.append(writer)   # stopped by stop(): no write outlives the server
        return writer

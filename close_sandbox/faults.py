"""Fault injection (reference sections 4.1, 6.3, 7): latency, 5xx with an
empty JSON body, a burst of failures, the "Document has been deleted" 404
during offset paging, a real deletion that shifts an offset-paged list
(offset_shift), 429 storms, a crash (die_after), and type drift (a
field changes type in the middle of a run, as when Close converts a custom
field's type: the real custom activity type field objects carry
`converting_to_type` [Airbyte expected_records.jsonl]; close-api.md 5.5)."""
import json
import threading

# 200 answers that are not Close's envelope, as raw bytes.
MALFORMED_BODIES = {
    "not_json": b"<html><body>Bad gateway</body></html>",
    "not_object": b"[1, 2, 3]",
    "no_data": b'{"has_more": false, "items": []}',
}


# Drift kind -> the endpoint group whose list requests count towards `after`.
DRIFT_KIND_GROUPS = {
    "lead": "lead", "contact": "contact", "opportunity": "opportunity", "task": "task",
    "activity": "activity", "user": "user", "custom_field": "custom_field", "pipeline": "pipeline",
    "lead_status": "status", "opportunity_status": "status",
    "custom_activity_type": "custom_activity", "event": "event",
}
# A lead embeds its contacts, opportunities and (open) tasks (close-api.md 5.2).
LEAD_NESTED_KINDS = {"contacts": "contact", "opportunities": "opportunity", "tasks": "task"}


def served_kind(group, segs):
    """The kind of the records an /api/v1 response holds, or None (e.g. /me/)."""
    if group == "status":
        return segs[1] + "_status" if len(segs) > 1 else None
    if group == "custom_activity":
        return "custom_activity_type"
    return group if group in DRIFT_KIND_GROUPS else None


class Drifts:
    """Type drift: records of a kind served with one field replaced, once a
    number of list requests of that kind's group have been answered. Served
    bodies are rebuilt from copies; the store's records are never touched."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = []

    def add(self, kind, field, value, after=0):
        if kind not in DRIFT_KIND_GROUPS:
            raise ValueError("kind must be one of %s" % ", ".join(sorted(DRIFT_KIND_GROUPS)))
        if not isinstance(field, str) or not field:
            raise ValueError("field must be a non-empty string")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError("after must be an integer >= 0")
        json.dumps(value)   # any JSON value; anything else fails here, not mid-response
        with self._lock:
            self._items.append({"kind": kind, "field": field, "value": value, "remaining": after})

    def snapshot(self):
        with self._lock:
            return [dict(d) for d in self._items]

    def apply(self, group, segs, body, wanted=None):
        """Return `body` (a handler's 200 answer) with the active drifts
        applied, then count it if it is a list of `group`. `wanted` is the
        request's _fields set: a field it trims away stays away."""
        is_list = isinstance(body, dict) and isinstance(body.get("data"), list)
        with self._lock:
            active = [dict(d) for d in self._items if d["remaining"] == 0]
            if is_list:
                for d in self._items:
                    if d["remaining"] > 0 and DRIFT_KIND_GROUPS[d["kind"]] == group:
                        d["remaining"] -= 1
        kind = served_kind(group, segs)
        if not active or kind is None:
            return body
        if is_list:
            return dict(body, data=[_drifted(r, kind, active, wanted) for r in body["data"]])
        return _drifted(body, kind, active, wanted) if isinstance(body, dict) else body


def _drifted(rec, kind, active, wanted):
    out = rec
    for d in active:
        if d["kind"] == kind and (wanted is None or d["field"] in wanted or d["field"] in rec):
            out = dict(out, **{d["field"]: d["value"]})
    if kind == "lead":
        for key, child_kind in LEAD_NESTED_KINDS.items():
            if isinstance(out.get(key), list) and any(d["kind"] == child_kind for d in active):
                out = dict(out, **{key: [_drifted(c, child_kind, active, None) for c in out[key]]})
    return out


class Faults:
    def __init__(self, latency=0.0):
        self._lock = threading.Lock()
        self._on_die = None            # set by Sandbox: closes the listener and connections
        self.clear()
        self._latency[None] = float(latency or 0.0)

    def clear(self):
        with getattr(self, "_lock", threading.Lock()):
            self._latency = {None: 0.0}
            self._every = []
            self._bursts = []
            self._deleted = []
            self._shifts = []
            self._storms = []
            self._malformed = []
            self._die_remaining = None
            self.drifts = Drifts()

    # -- configuration --------------------------------------------------------
    def latency(self, seconds, group=None):
        """Sleep this long before answering (per group, or all when None)."""
        with self._lock:
            self._latency[group] = float(seconds)

    def fail_every(self, k, status=503, group=None):
        """Every k-th matching request answers `status` with an empty body."""
        if k < 1:
            raise ValueError("k must be >= 1")
        with self._lock:
            self._every.append({"k": int(k), "status": int(status), "group": group, "seen": 0})

    def fail_burst(self, n, status=502, group=None):
        with self._lock:
            self._bursts.append({"n": int(n), "status": int(status), "group": group})

    def deleted_404(self, n=1, group=None, any_page=False):
        """The next n offset-paged list requests with _skip>0 answer 404
        {"error": "Empty query: Document has been deleted."}. With any_page, the first page
        of a query (_skip=0) too: a record deleted between Close's selection and its fetch
        can land on any page (the issue tracker's reports: a run died on it at the first
        request of a leads or opportunities window) [I]."""
        with self._lock:
            self._deleted.append({"n": int(n), "group": group, "any_page": bool(any_page)})

    def offset_shift(self, n=1, group=None, records=1):
        """The next n offset-paged list requests with _skip>0 first really delete (from the
        store) the `records` records just before the requested offset in the list's current
        order, then answer: the tail has moved left by that many, so a client stepping _skip by
        the page length never sees them (one whose pages overlap by fewer does not either).
        Offset pages are not a snapshot (close-api.md 4.1, 9: "inserts/deletes between requests
        shift later pages, giving duplicates or gaps" [I])."""
        with self._lock:
            self._shifts.append({"n": int(n), "group": group, "records": max(1, int(records))})

    def rate_limit_storm(self, n, group=None, retry_after=1, body="legacy", retry_after_header=True):
        """The next n matching requests answer 429 whatever the bucket says."""
        if body not in ("legacy", "empty"):
            raise ValueError("body must be 'legacy' or 'empty'")
        with self._lock:
            self._storms.append({"n": int(n), "group": group, "retry_after": retry_after,
                                 "body": body, "retry_after_header": retry_after_header})

    def malformed(self, n=1, group=None, kind="not_json"):
        """The next n matching requests answer 200 with a body that is not Close's
        envelope: "not_json" (an HTML page, as a proxy might send), "not_object"
        (a JSON list) or "no_data" (an object without data)."""
        if kind not in MALFORMED_BODIES:
            raise ValueError("kind must be one of %s" % ", ".join(MALFORMED_BODIES))
        with self._lock:
            self._malformed.append({"n": int(n), "group": group, "kind": kind})

    def drift(self, kind, field, value, after=0):
        """Once `after` more list requests of `kind`'s endpoint group have been
        answered, every `kind` record served carries `field: value` (any JSON
        value), also inside a lead's nested contacts/opportunities/tasks. Only
        what the HTTP API serves changes: sb.store.records() stays as it was.
        kind: one of DRIFT_KIND_GROUPS (lead, contact, opportunity, task,
        activity, user, custom_field, pipeline, lead_status,
        opportunity_status, custom_activity_type, event)."""
        self.drifts.add(kind, field, value, after)

    def die_after(self, n):
        """After n more API requests the server stops (listener closed,
        in-flight connections dropped)."""
        with self._lock:
            self._die_remaining = int(n)
        if n <= 0 and self._on_die:
            self._on_die()

    # -- hooks used by the request pipeline ----------------------------------
    def delay_for(self, group):
        with self._lock:
            return self._latency.get(group, self._latency.get(None, 0.0))

    @staticmethod
    def _match(f, group):
        return f["group"] is None or f["group"] == group

    def before(self, group):
        """None, ("fail", status) or ("storm", settings)."""
        with self._lock:
            hit = None
            for f in self._every:
                if self._match(f, group):
                    f["seen"] += 1
                    if f["seen"] % f["k"] == 0 and hit is None:
                        hit = ("fail", f["status"])
            for f in self._bursts:
                if hit is None and f["n"] > 0 and self._match(f, group):
                    f["n"] -= 1
                    hit = ("fail", f["status"])
            for f in self._storms:
                if hit is None and f["n"] > 0 and self._match(f, group):
                    f["n"] -= 1
                    hit = ("storm", f)
            for f in self._malformed:
                if hit is None and f["n"] > 0 and self._match(f, group):
                    f["n"] -= 1
                    hit = ("malformed", MALFORMED_BODIES[f["kind"]])
            self._bursts = [f for f in self._bursts if f["n"] > 0]
            self._storms = [f for f in self._storms if f["n"] > 0]
            self._malformed = [f for f in self._malformed if f["n"] > 0]
            return hit

    def take_deleted(self, group, skip=1):
        with self._lock:
            for f in self._deleted:
                if f["n"] > 0 and self._match(f, group) and (skip > 0 or f.get("any_page")):
                    f["n"] -= 1
                    self._deleted = [x for x in self._deleted if x["n"] > 0]
                    return True
            return False

    def take_offset_shift(self, group):
        """How many records this list request must delete before its offset (once per
        configured request); 0 when none."""
        with self._lock:
            for f in self._shifts:
                if f["n"] > 0 and self._match(f, group):
                    f["n"] -= 1
                    self._shifts = [x for x in self._shifts if x["n"] > 0]
                    return f["records"]
            return 0

    def after_response(self):
        """Called once per answered API request; True when the server must die now."""
        with self._lock:
            if self._die_remaining is None:
                return False
            self._die_remaining -= 1
            if self._die_remaining <= 0:
                self._die_remaining = None
                return True
            return False

    def snapshot(self):
        with self._lock:
            return {"latency": {str(k): v for k, v in self._latency.items()},
                    "fail_every": [dict(f) for f in self._every],
                    "fail_burst": [dict(f) for f in self._bursts],
                    "deleted_404": [dict(f) for f in self._deleted],
                    "offset_shift": [dict(f) for f in self._shifts],
                    "rate_limit_storm": [dict(f) for f in self._storms],
                    "malformed": [dict(f) for f in self._malformed],
                    "drift": self.drifts.snapshot(),
                    "die_after": self._die_remaining}

"""Control endpoints for a sandbox running as a separate process (no auth,
outside /api/v1):

  GET  /_sandbox/stats      -> Sandbox.stats()
  GET  /_sandbox/requests   -> the request log (?since=N for entries N..)
  POST /_sandbox/mutate     {"action": "touch_leads"|"add_leads"|"delete_leads"|
                             "add_activities"|"update_tasks"|"update_activities", "count": n}
  POST /_sandbox/faults     {"clear": true, "latency": s | {"seconds": s, "group": g},
                             "fail_every": {"k": 5, "status": 503, "group": null},
                             "fail_burst": {"n": 3, "status": 502}, "deleted_404": {"n": 1},
                             "offset_shift": {"n": 1, "group": "user", "records": 1},
                             "rate_limit_storm": {"n": 3, "retry_after": 1, "body": "empty"},
                             "drift": {"kind": "task", "field": "date", "value": {...}, "after": 2},
                             "die_after": n}
  POST /_sandbox/limits     {"group": null, "rate": 20, "burst": 20, "body": "legacy"|"empty",
                             "retry_after_header": true, "max_skip": {"group": g, "n": n},
                             "max_limit": {"group": g, "n": n}, "search_index_lag": s,
                             "search_time_precision": "us"|"ms"|"s", "search_cursor_cap": n,
                             "search_cursor_ttl": s}
  POST /_sandbox/clock      {"advance": seconds}  (frozen clocks only)
"""
import json

from .search import precision_unit


def _body(raw):
    if not raw:
        return {}
    obj = json.loads(raw)
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    return obj


def _kw(value, first):
    """Accept either a bare number or a dict of keyword arguments."""
    return value if isinstance(value, dict) else {first: value}


def _search_knobs(sb, body):
    """The /data/search/ knobs (Sandbox attributes of the same names)."""
    if "search_time_precision" in body:
        precision_unit(body["search_time_precision"])       # ValueError -> 400
        sb.search_time_precision = body["search_time_precision"]
    if "search_index_lag" in body:
        sb.search_index_lag = float(body["search_index_lag"])
    if "search_cursor_cap" in body:
        sb.search_cursor_cap = int(body["search_cursor_cap"])
    if "search_cursor_ttl" in body:
        sb.search_cursor_ttl = float(body["search_cursor_ttl"])


def handle(sb, method, path, params, raw):
    name = path.rstrip("/").split("/")[-1]
    try:
        if method == "GET" and name == "stats":
            return 200, sb.stats()
        if method == "GET" and name == "requests":
            since = int(params.get("since", 0))
            return 200, {"requests": sb.request_log[since:], "total": len(sb.request_log)}
        if method != "POST":
            return 405, {"error": "use POST"}
        body = _body(raw)
        if name == "mutate":
            action, count = body.get("action"), int(body.get("count", 1))
            ids = sb.store.mutate(action, count)
            return 200, {"action": action, "count": len(ids), "ids": ids}
        if name == "faults":
            f = sb.faults
            if body.get("clear"):
                f.clear()
            if "latency" in body:
                kw = _kw(body["latency"], "seconds")
                f.latency(kw["seconds"], kw.get("group"))
            if "fail_every" in body:
                f.fail_every(**_kw(body["fail_every"], "k"))
            if "fail_burst" in body:
                f.fail_burst(**_kw(body["fail_burst"], "n"))
            if "deleted_404" in body:
                f.deleted_404(**_kw(body["deleted_404"], "n"))
            if "offset_shift" in body:
                f.offset_shift(**_kw(body["offset_shift"], "n"))
            if "rate_limit_storm" in body:
                f.rate_limit_storm(**_kw(body["rate_limit_storm"], "n"))
            if "drift" in body:
                f.drift(**body["drift"])
            if "die_after" in body:
                f.die_after(int(body["die_after"]))
            return 200, f.snapshot()
        if name == "limits":
            if "rate" in body or "burst" in body:
                sb.limits.configure(group=body.get("group"), rate=body.get("rate"), burst=body.get("burst"))
            if body.get("body") is not None:
                sb.limits.body = body["body"]
            if body.get("retry_after_header") is not None:
                sb.limits.retry_after_header = bool(body["retry_after_header"])
            if "max_skip" in body:
                sb.max_skip(body["max_skip"]["group"], int(body["max_skip"]["n"]))
            if "max_limit" in body:
                sb.max_limit(body["max_limit"]["group"], int(body["max_limit"]["n"]))
            _search_knobs(sb, body)
            return 200, {"ok": True}
        if name == "clock":
            sb.clock.advance(float(body.get("advance", 0)))
            return 200, {"now": sb.clock.now().isoformat()}
        return 404, {"error": "unknown control endpoint %s" % path}
    except (ValueError, KeyError, TypeError) as e:
        return 400, {"error": "%s: %s" % (type(e).__name__, e)}

"""The request pipeline for /api/v1: method override, latency and faults,
auth, rate limiting, routing, headers, request log and stats. HTTP
plumbing lives in server.py; this module only maps a request to a Response."""
import base64
import binascii
import json
import math
import sys
import time
import traceback
from urllib.parse import parse_qs

from . import control, params as P, ratelimit, resources, search

PREFIX = "/api/v1"
AUTH_ERROR = ("The server could not verify that you are authorized to access the URL requested.  "
              "You either supplied the wrong credentials (e.g. a bad password), or your browser "
              "doesn't understand how to supply the credentials required.")
METHOD_ERROR = "The method is not allowed for the requested URL."
JSON = "application/json"
# Close's Advanced Filtering API takes a POSTed JSON body (search.py); every other path is read-only.
SEARCH_SEGS = ["data", "search"]
_UNPARSED = object()


class Response:
    __slots__ = ("status", "headers", "body", "drop", "die")

    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.headers = headers or []
        # None -> empty body; dict/list -> JSON
        self.body = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        self.drop = False
        self.die = False


def _dropped():
    r = Response(0)
    r.drop = True
    return r


def split_path(raw):
    path, _, query = raw.partition("?")
    return path, {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def group_of(segs):
    if not segs:
        return "root"
    return "custom_field" if segs[0] == "custom_fields" else segs[0]


def _stringify(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return ",".join(_stringify(x) for x in v)
    return "" if v is None else str(v)


def _search_payload(method, segs, headers, body):
    """The parsed JSON body of a search POST (also logged), or _UNPARSED. The Content-Type is not
    checked: the body is read as JSON whatever it says [I]."""
    if method != "POST" or segs != SEARCH_SEGS or \
            (headers.get("x-http-method-override") or "").upper() == "GET":
        return _UNPARSED
    try:
        return json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return _UNPARSED


class App:
    def __init__(self, sandbox):
        self.sb = sandbox

    def handle(self, method, raw_path, headers, body):
        path, params = split_path(raw_path)
        if path.startswith("/_sandbox"):
            status, obj = control.handle(self.sb, method, path, params, body)
            return Response(status, obj, [("Content-Type", JSON)])
        if self.sb.dead:
            return _dropped()
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            return Response(404, {"error": P.NOT_FOUND}, [("Content-Type", JSON)])
        # Collapse duplicate slashes (Airbyte requests ".../api/v1//custom_field/lead/").
        segs = [s for s in path[len(PREFIX):].split("/") if s]
        norm = "/" + "/".join(segs) + ("/" if segs else "")
        group = group_of(segs)
        payload = _search_payload(method, segs, headers, body)
        try:
            resp = self._pipeline(method, segs, group, params, headers, body, payload)
        except Exception:       # a sandbox bug must not look like a network fault
            traceback.print_exc(file=sys.stderr)
            resp = Response(500, {"error": "Internal server error (close-sandbox bug)."}, [("Content-Type", JSON)])
        if not resp.drop:
            self.sb._record(method, norm, group, params, resp.status, headers.get("User-Agent"),
                            body=None if payload is _UNPARSED else payload)
            resp.die = self.sb.faults.after_response()
        return resp

    def _pipeline(self, method, segs, group, params, headers, body, payload=_UNPARSED):
        sb = self.sb
        delay = sb.faults.delay_for(group)
        if delay:
            time.sleep(delay)
        if sb.dead:
            return _dropped()
        if method == "POST" and (headers.get("x-http-method-override") or "").upper() == "GET":
            try:
                payload = json.loads(body or b"{}")
                extra = payload.get("_params", {}) if isinstance(payload, dict) else None
                if not isinstance(extra, dict):
                    raise ValueError
            except ValueError:
                return self._json(400, {"error": "Invalid JSON body: expected {\"_params\": {...}}."}, group)
            params.update({str(k): _stringify(v) for k, v in extra.items()})
            method = "GET"
        fault = sb.faults.before(group)
        if fault and fault[0] == "fail":
            return self._json(fault[1], None, group)
        if fault and fault[0] == "storm":
            return self._storm(fault[1], group)
        if fault and fault[0] == "malformed":
            resp = self._json(200, None, group)
            resp.body = fault[1]
            return resp
        if not self._authorized(headers.get("Authorization")):
            return self._json(401, {"error": AUTH_ERROR}, group)
        decision = sb.limits.take(sb.api_key, group)
        if not decision.allowed:
            return self._limited(decision, group)
        if segs == SEARCH_SEGS:
            return self._search(method, payload, group, decision)
        found = resources.route(segs)
        if found is None:
            return self._json(404, {"error": P.NOT_FOUND}, group, decision)
        if method != "GET":
            return self._json(405, {"error": METHOD_ERROR}, group, decision)
        _, handler, args = found
        try:
            body = handler(sb, params, *args)
        except P.ApiError as e:
            return self._json(e.status, e.body, group, decision)
        # Type drift rewrites only what is served, never the store's records.
        return self._json(200, sb.faults.drifts.apply(group, segs, body, P.fields(params)), group, decision)

    def _search(self, method, payload, group, decision):
        """POST /data/search/ with a JSON body [C: Close docs, advanced-filtering]; any other
        method (a GET, or a POST overridden to GET) is a 405 like every read-only path's [I]."""
        if method != "POST":
            return self._json(405, {"error": METHOD_ERROR}, group, decision)
        if payload is _UNPARSED:
            message = "The request body is not valid JSON."
            return self._json(400, {"error": message, "errors": [message], "field-errors": {}}, group, decision)
        try:
            return self._json(200, search.handle(self.sb, payload), group, decision)
        except P.ApiError as e:
            return self._json(e.status, e.body, group, decision)

    def _authorized(self, header):
        """HTTP Basic with the API key as user name and an EMPTY password."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        user, sep, password = raw.partition(":")
        return bool(sep) and password == "" and user == self.sb.api_key

    def _json(self, status, body, group, decision=None):
        if decision is None:
            decision = self.sb.limits.take(self.sb.api_key, group, consume=False)
        return Response(status, body, [("Content-Type", JSON), ("RateLimit", decision.header())])

    def _limited(self, d, group):
        limits = self.sb.limits
        wait = max(1, int(math.ceil(d.retry_after)))
        headers = [("Content-Type", JSON), ("RateLimit", "limit=%d, remaining=0, reset=%d" % (d.limit, max(d.reset, 1)))]
        if limits.retry_after_header:
            headers.append(("Retry-After", str(wait)))
        body = None
        if limits.body == "legacy":
            body = {"error": {"message": "API call count exceeded for this period",
                              "rate_reset": round(max(d.retry_after, 0.001), 6), "rate_limit": d.limit,
                              "rate_window": max(1, int(round(d.burst / d.rate))),
                              "rate_limit_type": "key", "rate_endpoint_group": ratelimit.group_hex(group)}}
        return Response(429, body, headers)

    def _storm(self, f, group):
        d = self.sb.limits.take(self.sb.api_key, group, consume=False)
        wait = max(1, int(math.ceil(f["retry_after"])))
        headers = [("Content-Type", JSON), ("RateLimit", "limit=%d, remaining=0, reset=%d" % (d.limit, wait))]
        if f["retry_after_header"]:
            headers.append(("Retry-After", str(wait)))
        body = None
        if f["body"] == "legacy":
            rate = d.rate or d.limit
            body = {"error": {"message": "API call count exceeded for this period",
                              "rate_reset": float(f["retry_after"]), "rate_limit": d.limit,
                              "rate_window": max(1, int(round(d.burst / rate))),
                              "rate_limit_type": "key", "rate_endpoint_group": ratelimit.group_hex(group)}}
        return Response(429, body, headers)

"""Query-parameter handling shared by the list endpoints: paging limits,
_fields trimming, date range filters, and the API error type."""
from . import timefmt

DEFAULT_LIMIT = 100
# Known-good page sizes from production connectors, used as maxima (reference 4.1).
MAX_LIMITS = {"lead": 200, "activity": 100, "task": 1000, "user": 1000, "custom_field": 1000,
              "contact": 100, "opportunity": 250}
OTHER_MAX_LIMIT = 100
NOT_FOUND = ("The requested URL was not found on the server. If you entered the URL manually "
             "please check your spelling and try again.")


class ApiError(Exception):
    def __init__(self, status, message=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else ({"error": message} if message is not None else None)


def bad_request(message):
    raise ApiError(400, message)


def not_found(model):
    raise ApiError(404, "Empty query: %s matching query does not exist." % model)


def int_param(params, name, default):
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        bad_request("Invalid value for %s: %r is not an integer." % (name, raw))
    if value < 0:
        bad_request("Invalid value for %s: must be a non-negative integer." % name)
    return value


class PagingLimits:
    """Per-resource maxima, configurable via Sandbox.max_skip / max_limit."""

    def __init__(self, max_skip=250000):
        self.default_max_skip = max_skip
        self.skip = {}
        self.limit = dict(MAX_LIMITS)

    def max_skip(self, group):
        return self.skip.get(group, self.default_max_skip)

    def max_limit(self, group):
        return self.limit.get(group, OTHER_MAX_LIMIT)


def paging(params, group, limits, allow_zero=False):
    skip = int_param(params, "_skip", 0)
    limit = int_param(params, "_limit", DEFAULT_LIMIT)
    max_limit = limits.max_limit(group)
    if limit > max_limit:
        # Exact Close text unknown [I]; modelled on the max_skip message.
        bad_request("The limit you set is larger than the maximum limit for this resource "
                    "(max_limit = %d). Please use a smaller _limit." % max_limit)
    if limit == 0 and not allow_zero:
        bad_request("Invalid value for _limit: must be between 1 and %d." % max_limit)
    max_skip = limits.max_skip(group)
    if skip > max_skip:
        bad_request("The skip you set is larger than the maximum skip for this resource "
                    "(max_skip = %d). Please refine your search query." % max_skip)
    return skip, limit


def fields(params):
    raw = params.get("_fields")
    if not raw:
        return None
    return {f.strip() for f in raw.split(",") if f.strip()}


def trim(rec, wanted):
    """Keep the requested fields; `custom` also brings every custom.cf_* key.
    Unknown names are ignored."""
    if wanted is None:
        return rec
    want_custom = "custom" in wanted
    return {k: v for k, v in rec.items() if k in wanted or (want_custom and k.startswith("custom."))}


def parse_time(name, value):
    try:
        return timefmt.parse(value)
    except ValueError:
        bad_request("Invalid value for %s: %r is not a valid date or datetime." % (name, value))


def date_ranges(params, keys):
    """{key: (lo, hi)} half-open microsecond ranges from key__gt/gte/lt/lte."""
    out = {}
    for key in keys:
        lo = hi = None
        for op in ("gt", "gte", "lt", "lte"):
            name = "%s__%s" % (key, op)
            raw = params.get(name)
            if raw is None:
                continue
            v = parse_time(name, raw)
            if op == "gt":
                lo = max(lo, v + 1) if lo is not None else v + 1
            elif op == "gte":
                lo = max(lo, v) if lo is not None else v
            elif op == "lt":
                hi = min(hi, v) if hi is not None else v
            else:
                hi = min(hi, v + 1) if hi is not None else v + 1
        if lo is not None or hi is not None:
            out[key] = (lo, hi)
    return out


def envelope(page, skip, total, with_total=False):
    body = {"has_more": skip + len(page) < total}
    if with_total:
        body["total_results"] = total
    body["data"] = page
    return body

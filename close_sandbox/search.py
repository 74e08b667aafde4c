"""Close's Advanced Filtering API, `POST /api/v1/data/search/`: the query tree, sort, `_fields`,
the cursor walk, counts, index lag and the time precision of date comparisons.

Sources (tags as in close_sandbox/README.md): "§Q1" is section Q1 of
shared/reference/close-api-search-and-shapes.md (node shapes 1.3, output control and paging 1.4),
"close-api.md §N" the general reference. Where both are silent the choice is ours and marked [I];
the two behaviours the sources leave open and a tap depends on (time precision, index lag) are
knobs on the Sandbox so that the tap's tests can run against every variant.

Served from the collections' sorted (timestamp, id) indexes: a date range on date_created or
date_updated in the query's top-level AND is bisected, the rest of the tree is evaluated only on
that span, and the sorted result is cached per (query, sort, precision, collection version), so
each further page is a bisect in the cached keys."""
import base64
import binascii
import bisect
import hashlib
import json
import re
import time
import zlib

from . import custom_objects, customfields, params as P, timefmt

# -- constants ------------------------------------------------------------------------------------
DEFAULT_LIMIT = 100           # [I] Close's list default (close-api.md 4.1); §Q1 gives no search default
MAX_LIMIT = 200               # "Limit of 200 max" (§Q1 1.4: AB-UTILS, FORK, MAKO; not in Close docs)
PRECISIONS = {"us": 1, "ms": 1000, "s": timefmt.SECOND}     # Sandbox(search_time_precision=...)
INDEXED = ("date_created", "date_updated")   # the collections' sorted indexes (collection.py)
SORTABLE = INDEXED            # §Q1 1.4: MAKO sorts on both; other sort fields are not modelled [I]

# Searchable object types the sandbox serves: where each one's records are. §Q1 1.1-1.2; custom
# objects: Close docs OAS `/custom_object/` ("you will need to use Advanced Filtering"), AB-UTILS.
MODELLED_TYPES = {"lead": lambda sb: sb.store.leads, "contact": lambda sb: sb.store.contacts,
                  "opportunity": lambda sb: sb.store.opportunities,
                  "custom_object": lambda sb: custom_objects.of(sb).instances}
# Object types Close searches that the sandbox does not model: 400 "not modelled" rather than a
# silent empty answer, so a tap never mistakes a sandbox gap for "no records" (§Q1 1.2).
KNOWN_UNMODELLED_TYPES = {"contact_email", "activity.call", "activity.email",
                          "activity.email_thread", "activity.sms", "activity.meeting", "activity.note",
                          "activity.lead_status_change", "activity.opportunity_status_change",
                          "activity.task_completed", "activity.custom_activity"}
# Regular date fields a moment_range may use besides the indexed two (parsed from the record).
OTHER_DATE_FIELDS = {"opportunity": ("date_won", "date_lost")}
# Node, condition and moment types that exist in Close (§Q1 1.1, 1.3) but are not modelled here.
UNMODELLED_NODES = {"has_related", "saved_search"}
UNMODELLED_CONDITIONS = {"number_range"}
UNMODELLED_MOMENTS = {"offset", "now", "start_end_of_predefined_relative_period"}
TEXT_MODES = ("full_words", "exact_value")   # §Q1 1.3: Close docs (full_words), FORK (exact_value)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WORD = re.compile(r"\w+", re.UNICODE)
CURSOR_VERSION = 1


# -- errors ---------------------------------------------------------------------------------------
def invalid(key, message):
    """400 in Close's validation shape {"errors": [], "field-errors": {key: message}}
    (close-api.md §7, write validation errors [C]); the top-level "error" beside it is [I]."""
    raise P.ApiError(400, body={"error": message, "errors": [], "field-errors": {key: message}})


def _bad_body(message):
    raise P.ApiError(400, body={"error": message, "errors": [message], "field-errors": {}})


# -- entry point ----------------------------------------------------------------------------------
def handle(sb, payload):
    """The 200 body for one search request (`payload`: the parsed JSON body), or ApiError."""
    if not isinstance(payload, dict):
        _bad_body("The request body must be a JSON object.")
    req = SearchRequest(sb, payload)
    store, coll = sb.store, req.coll
    with store.lock:
        key = ("data/search", coll.name, coll.version, req.identity, req.unit)
        keys, ids_, members = sb.query_cache.get_or_compute(key, lambda: _matching(coll, req))
        hidden = _lagging(sb, coll, members)
        start = 0 if req.cursor is None else bisect.bisect_right(keys, req.cursor["k"])
        served = req.cursor["n"] if req.cursor else 0
        budget = min(req.limit, sb.search_cursor_cap - served)
        if req.results_limit is not None:
            budget = min(budget, req.results_limit - served)
        positions, nxt = _visible_run(ids_, hidden, start, max(budget, 0))
        recs = [coll.by_id[ids_[i]] for i in positions]
        last_key = keys[positions[-1]] if positions else None
        total = len(ids_) - len(hidden)
    served += len(positions)
    more = nxt is not None and (req.results_limit is None or served < req.results_limit)
    body = {"data": [_shape(r, req.object_type, req.fields) for r in recs],
            "cursor": _encode_cursor(req.identity, served, last_key) if more and positions else None}
    if req.include_counts:
        body["count"] = {"total": total}     # other `count` keys are UNCONFIRMED (§Q1 1.4)
    # Type drift (faults.py) changes search results as it changes the object's own list: a search
    # counts as a list request of its object type [I]; fields _fields left out stay out.
    return sb.faults.drifts.apply(req.object_type, [req.object_type], body, set(req.fields or ()))


def _visible_run(ids_, hidden, start, budget):
    """Positions of up to `budget` ids from `start` on that the index shows, and the position of
    the next shown one after them (None when there is none)."""
    out, i, n = [], start, len(ids_)
    while i < n and len(out) < budget:
        if ids_[i] not in hidden:
            out.append(i)
        i += 1
    while i < n and ids_[i] in hidden:       # hidden ids are the few newest writes: a short walk
        i += 1
    return out, (i if i < n else None)


def _shape(rec, object_type, fields):
    """`{"__object_type", "id"}` plus exactly the named fields the record has, each matched
    against the record's own keys ("custom.cf_x" is one key; "custom" is the lead's dict):
    without `_fields` Close returns the marker and id only [C: §Q1 1.1]; named fields come back
    as named, custom values as dotted `custom.cf_*` keys [3rd-party: §Q1 1.4]; unknown names are
    ignored [I, as GET `_fields`]."""
    out = {"__object_type": object_type, "id": rec["id"]}
    for name in fields or ():
        if name in rec and name not in out:
            out[name] = rec[name]
    return out


def _lagging(sb, coll, members):
    """Ids the search index does not show yet: `date_updated` within the last
    `search_index_lag` seconds of the sandbox clock. Close's search index can lag writes
    ("Search Indexing Delays", Close status incident 2025-02-14, §Q1 1.4); whether a lagging
    record is absent or shown stale is unknown, the sandbox hides it [I]."""
    lag = sb.search_index_lag or 0
    if lag <= 0:
        return frozenset()
    cutoff = sb.clock.now_us() - int(round(lag * timefmt.SECOND))
    return {rid for _, rid in coll.span("date_updated", cutoff + 1, None) if rid in members}


# -- the request ----------------------------------------------------------------------------------
class SearchRequest:
    """The validated body. Unknown top-level keys (e.g. `_skip`, ignored by the Search API per
    MAKO, §Q1 1.4) are ignored [I]; anything malformed in a known key is a 400."""

    def __init__(self, sb, body):
        self.unit = precision_unit(sb.search_time_precision)
        if "query" not in body:
            invalid("query", "This field is required.")
        query = body["query"]
        self.object_type = searched_type(query)
        self.coll = MODELLED_TYPES[self.object_type](sb)
        scope = Scope(self.coll, self.object_type, self.unit, custom_field_types(sb, self.object_type))
        self.predicate = compile_node(query, scope)
        self.ranges = index_ranges(query, scope)
        self.sort = parse_sort(body.get("sort"), self.object_type)
        self.fields = parse_fields(body.get("_fields"), self.object_type)
        self.limit = _int_key(body, "_limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        self.results_limit = _int_key(body, "results_limit", None, 0, None)
        counts = body.get("include_counts")
        if counts is not None and not isinstance(counts, bool):
            invalid("include_counts", "Must be a boolean.")
        self.include_counts = bool(counts)
        # The walk's identity: a cursor only continues the query (and order) that issued it [I].
        canon = json.dumps({"query": query, "sort": body.get("sort") or []}, sort_keys=True,
                           separators=(",", ":"))
        self.identity = hashlib.sha256(canon.encode()).hexdigest()[:16]
        self.cursor = read_cursor(body.get("cursor"), self.identity, sb)


def precision_unit(name):
    if name not in PRECISIONS:
        raise ValueError("search_time_precision must be one of %s" % ", ".join(PRECISIONS))
    return PRECISIONS[name]


def _int_key(body, key, default, lo, hi):
    """An integer body key in [lo, hi] (hi None: unbounded); null or absent is the default.
    `_limit` above 200 is a 400 rather than a clamp [I: the offset lists' 400, close-api.md 4.1]."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        invalid(key, "A valid integer is required.")
    if value < lo or (hi is not None and value > hi):
        invalid(key, ("Ensure this value is between %d and %d." % (lo, hi)) if hi is not None
                else "Ensure this value is greater than or equal to %d." % lo)
    return value


def parse_sort(sort, object_type):
    """`sort`: a list of {"direction": "asc"|"desc", "field": <regular_field>} (§Q1 1.4);
    several keys allowed. Returns [(field_name, descending)]."""
    if sort is None:
        return []
    if not isinstance(sort, list):
        invalid("sort", "Must be a list of sort clauses.")
    out = []
    for clause in sort:
        if not isinstance(clause, dict) or clause.get("direction") not in ("asc", "desc"):
            invalid("sort", "Each sort clause needs a direction, asc or desc, and a field.")
        field = clause.get("field")
        if not isinstance(field, dict) or field.get("type") != "regular_field":
            invalid("sort", "The sandbox sorts on regular fields only.")
        if field.get("object_type") != object_type:
            invalid("sort", "The sort field's object_type must be the searched type, %s." % object_type)
        if field.get("field_name") not in SORTABLE:
            invalid("sort", "The sandbox sorts on %s only." % " and ".join(SORTABLE))
        out.append((field["field_name"], clause["direction"] == "desc"))
    return out


def parse_fields(fields, object_type):
    """`_fields`: {object_type: [names]} (§Q1 1.4). Entries for other types are ignored [I]."""
    if fields is None:
        return None
    if not isinstance(fields, dict) or not all(isinstance(v, list) for v in fields.values()):
        invalid("_fields", "Must be an object mapping object types to lists of field names.")
    names = fields.get(object_type)
    if names is not None and not all(isinstance(n, str) for n in names):
        invalid("_fields", "Field names must be strings.")
    return names


# -- the query tree -------------------------------------------------------------------------------
def _node_type(node):
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        invalid("query", "Every query node must be an object with a type.")
    negate = node.get("negate", False)
    if not isinstance(negate, bool):
        invalid("query", "negate must be a boolean.")
    return node["type"]


def searched_type(query):
    """The one object type the query searches: the object_type nodes reached from the root
    through non-negated `and` nodes (the documented form, §Q1 1.1). None or several → 400: the
    sandbox searches one modelled type per query [I]."""
    found = set()

    def walk(node):
        kind = _node_type(node)
        if node.get("negate"):
            return
        if kind == "object_type":
            found.add(node.get("object_type"))
        elif kind == "and" and isinstance(node.get("queries"), list):
            for sub in node["queries"]:
                walk(sub)
    walk(query)
    if not found:
        invalid("query", "The query must select an object type with an object_type node.")
    if len(found) > 1:
        invalid("query", "The query selects several object types: %s." % ", ".join(sorted(map(str, found))))
    (object_type,) = found
    if object_type in KNOWN_UNMODELLED_TYPES:
        invalid("query", "Searching %s is not modelled by the sandbox." % object_type)
    if object_type not in MODELLED_TYPES:
        invalid("query", "Unknown object_type %r." % (object_type,))
    return object_type


def custom_field_types(sb, object_type):
    """{custom field id: Close type} of the definitions that apply to the searched type: a custom
    object's are its types' (custom_objects.py), the others' the store's own and shared ones."""
    if object_type == "custom_object":
        return custom_objects.of(sb).field_types()
    return {d["id"]: d["type"] for d in customfields.fields_for(sb.store.cf, object_type)}


class Scope:
    """What conditions are checked against: the searched type, its fields and custom fields,
    and the time unit dates are truncated to."""

    def __init__(self, coll, object_type, unit, custom):
        self.object_type = object_type
        self.unit = unit
        sample = next(iter(coll.by_id.values()), None)
        # Every record of one kind has the same keys (records.py); custom.cf_* vary per record.
        self.regular = None if sample is None else {k for k in sample if not k.startswith("custom.")}
        self.date_fields = set(INDEXED) | set(OTHER_DATE_FIELDS.get(object_type, ()))
        self.custom = custom


def compile_node(node, scope):
    """A predicate f(record, times) for one node; `negate: true` on any node inverts it (§Q1 1.1).
    An unknown node type is a 400 so a tap's typo is visible [I]."""
    kind = _node_type(node)
    if kind in ("and", "or"):
        subs = node.get("queries")
        if not isinstance(subs, list):
            invalid("query", "An %s node needs a list of queries." % kind)
        preds = [compile_node(q, scope) for q in subs]
        # and [] matches everything, or [] nothing [I].
        pred = ((lambda r, t: all(p(r, t) for p in preds)) if kind == "and"
                else (lambda r, t: any(p(r, t) for p in preds)))
    elif kind == "object_type":
        value = node.get("object_type")
        if value not in MODELLED_TYPES and value not in KNOWN_UNMODELLED_TYPES:
            invalid("query", "Unknown object_type %r." % (value,))
        same = value == scope.object_type
        pred = lambda r, t: same
    elif kind == "match_all":
        pred = lambda r, t: True
    elif kind == "field_condition":
        pred = _field_condition(node, scope)
    elif kind in UNMODELLED_NODES:
        invalid("query", "The %s node is not modelled by the sandbox." % kind)
    else:
        invalid("query", "Unknown query node type %r." % kind)
    if node.get("negate"):
        inner = pred
        pred = lambda r, t: not inner(r, t)
    return pred


def _field_ref(field, scope):
    """(value_of(record, times), is_date_field, indexed name or None) for a field reference."""
    if not isinstance(field, dict):
        invalid("query", "A field_condition needs a field object.")
    kind = field.get("type")
    if kind == "regular_field":
        if field.get("object_type") != scope.object_type:
            # Built-in fields are regular_fields of the searched type [C: §Q1 1.1].
            invalid("query", "A regular_field's object_type must be the searched type, %s." % scope.object_type)
        name = field.get("field_name")
        if not isinstance(name, str) or (scope.regular is not None and name not in scope.regular):
            invalid("query", "Unknown %s field %r." % (scope.object_type, name))
        if name in INDEXED:
            return (lambda r, t: t[name]), True, name
        if name in scope.date_fields:
            return (lambda r, t: _parse_instant(r.get(name))), True, None
        return (lambda r, t: r.get(name)), False, None
    if kind == "custom_field":
        # Custom fields by id (§Q1 1.3: `custom_field_id` from UI-copied filters); the value is the
        # record's `custom.cf_…` key.
        cf = field.get("custom_field_id")
        if cf not in scope.custom:
            invalid("query", "Unknown custom field %r for %s." % (cf, scope.object_type))
        key = "custom." + cf
        if scope.custom[cf] in ("date", "datetime"):
            return (lambda r, t: _parse_instant(r.get(key))), True, None
        return (lambda r, t: r.get(key)), False, None
    invalid("query", "Unknown field type %r." % (kind,))


def _parse_instant(value):
    if not isinstance(value, str):
        return None
    try:
        return timefmt.parse(value)
    except ValueError:
        return None


def _field_condition(node, scope):
    value_of, is_date, _ = _field_ref(node.get("field"), scope)
    cond = node.get("condition")
    if not isinstance(cond, dict) or not isinstance(cond.get("type"), str):
        invalid("query", "A field_condition needs a condition object with a type.")
    kind = cond["type"]
    if kind == "moment_range":
        if not is_date:
            invalid("query", "moment_range needs a date field.")
        lo, hi = moment_bounds(cond, scope.unit)
        unit = scope.unit

        def pred(r, t):
            v = value_of(r, t)
            if v is None:
                return False
            v -= v % unit      # the record's value at the index's precision (search_time_precision)
            return (lo is None or v >= lo) and (hi is None or v < hi)
        return pred
    if kind == "text":
        return _text(cond, value_of)
    if kind == "reference":
        ids_ = cond.get("object_ids")
        if not isinstance(cond.get("reference_type"), str) or not isinstance(ids_, list):
            invalid("query", "A reference condition needs reference_type and a list of object_ids.")
        wanted = set(ids_)
        return lambda r, t: _any_in(value_of(r, t), wanted)
    if kind == "term":
        values = cond.get("values")
        if not isinstance(values, list):
            invalid("query", "A term condition needs a list of values.")
        wanted = {json.dumps(v, sort_keys=True) for v in values}
        return lambda r, t: _any_in(value_of(r, t), wanted, json.dumps)
    if kind in UNMODELLED_CONDITIONS:
        invalid("query", "The %s condition is not modelled by the sandbox." % kind)
    invalid("query", "Unknown condition type %r." % kind)


def _any_in(value, wanted, key=lambda v: v):
    """A scalar value is in `wanted`, or a multi-value (list) has an element in it."""
    if isinstance(value, list):
        return any(key(v) in wanted for v in value)
    try:
        return value is not None and key(value) in wanted
    except TypeError:          # an unhashable value (an object) matches no reference
        return False


def _text(cond, value_of):
    """`full_words`: every word of the value is a whole word of the field, case-insensitively
    [C: §Q1 1.1 names the mode; word semantics I]. `exact_value`: the whole value, exactly,
    case-sensitively [I]. A list value matches when one of its strings does."""
    mode, text = cond.get("mode"), cond.get("value")
    if mode not in TEXT_MODES or not isinstance(text, str):
        invalid("query", "A text condition needs mode (%s) and a string value." % " or ".join(TEXT_MODES))
    if mode == "exact_value":
        match = lambda s: s == text
    else:
        words = set(_WORD.findall(text.lower()))
        match = lambda s: bool(words) and words <= set(_WORD.findall(s.lower()))

    def pred(r, t):
        v = value_of(r, t)
        items = v if isinstance(v, list) else [v]
        return any(isinstance(s, str) and match(s) for s in items)
    return pred


def moment_bounds(cond, unit):
    """(lo, hi) half-open microsecond bounds of a moment_range, truncated to `unit`: `on_or_after`
    is inclusive, `before` exclusive [C: §Q1 1.3, real smart-view records]. Other bound keys
    (`gte`, `after`, seen only in hobby code, "probably invalid" §Q1 1.3) are a 400 [I]."""
    extra = set(cond) - {"type", "on_or_after", "before"}
    if extra:
        invalid("query", "Unknown moment_range keys: %s." % ", ".join(sorted(extra)))
    lo, hi = moment(cond.get("on_or_after")), moment(cond.get("before"))
    # The query's moment at the index's precision, like the record's value [I: search_time_precision].
    return (None if lo is None else lo - lo % unit), (None if hi is None else hi - hi % unit)


def moment(m):
    """Epoch microseconds of a moment, or None. `fixed_utc`: an ISO 8601 instant (naive = UTC)
    [3rd-party: §Q1 1.3]. `fixed_local_date`: a day in the organization's time zone, UTC in the
    sandbox [I]; `which: "end"` is the end of that day, i.e. the next day's start [FORK, AB-UTILS]."""
    if m is None:
        return None
    if not isinstance(m, dict) or not isinstance(m.get("type"), str):
        invalid("query", "A moment must be an object with a type.")
    kind, value = m["type"], m.get("value")
    if kind == "fixed_utc":
        try:
            return timefmt.parse(value)
        except (ValueError, AttributeError):
            invalid("query", "fixed_utc needs an ISO 8601 date-time value, not %r." % (value,))
    if kind == "fixed_local_date":
        if not isinstance(value, str) or not _DATE_ONLY.match(value) or m.get("which") not in ("start", "end"):
            invalid("query", "fixed_local_date needs a YYYY-MM-DD value and which: start or end.")
        try:
            day = timefmt.parse(value)
        except ValueError:
            invalid("query", "%r is not a date." % value)
        return day + (timefmt.DAY if m["which"] == "end" else 0)
    if kind in UNMODELLED_MOMENTS:
        invalid("query", "The %s moment is not modelled by the sandbox." % kind)
    invalid("query", "Unknown moment type %r." % kind)


def index_ranges(query, scope):
    """{indexed key: (lo, hi)} from the non-negated moment_range conditions on date_created /
    date_updated reachable from the root through non-negated `and` nodes: every match lies in
    them, so they can be bisected. Bounds already truncated: for a unit-aligned bound g,
    trunc(v) >= g iff v >= g, and trunc(v) < g iff v < g."""
    out = {}

    def walk(node):
        if node.get("negate"):
            return
        if node["type"] == "and":
            for sub in node["queries"]:
                walk(sub)
        elif node["type"] == "field_condition" and node["condition"]["type"] == "moment_range":
            field = node["field"]
            if field.get("type") == "regular_field" and field.get("field_name") in INDEXED:
                lo, hi = moment_bounds(node["condition"], scope.unit)
                olo, ohi = out.get(field["field_name"], (None, None))
                out[field["field_name"]] = (lo if olo is None else (olo if lo is None else max(lo, olo)),
                                            hi if ohi is None else (ohi if hi is None else min(hi, ohi)))
    walk(query)
    return out


# -- evaluation and order -------------------------------------------------------------------------
def tie_break(rid):
    """Equal sort values are ordered by a stable hash of the id, not by the id, so a client
    cannot rely on any order among ties [I]; the id after it makes the order total."""
    return zlib.crc32(rid.encode())


def _matching(coll, req):
    """(sort keys, ids, id set) of every record the query matches, in the requested order.
    Candidates come from bisecting the narrowest indexed date range of the query, if any."""
    candidates = _candidates(coll, req.ranges)
    times, by_id, pred, unit = coll.times, coll.by_id, req.predicate, req.unit
    keyed = []
    for rid in candidates:
        t = times[rid]
        if pred(by_id[rid], t):
            key = []
            for name, desc in req.sort:
                v = t[name] - t[name] % unit          # sorted on the truncated value
                key.append(-v if desc else v)
            keyed.append((tuple(key) + (tie_break(rid), rid)))
    keyed.sort()
    ids_ = [k[-1] for k in keyed]
    return keyed, ids_, frozenset(ids_)


def _candidates(coll, ranges):
    if not ranges:
        return list(coll.by_id)
    spans = {k: _span_bounds(coll, k, lo, hi) for k, (lo, hi) in ranges.items()}
    key = min(spans, key=lambda k: spans[k][1] - spans[k][0])
    i, j = spans[key]
    return [rid for _, rid in coll.index[key][i:j]]


def _span_bounds(coll, key, lo, hi):
    """Positions [i, j) of lo <= us < hi in the key's sorted index (Collection.span's bisects)."""
    idx = coll.index[key]
    i = 0 if lo is None else bisect.bisect_left(idx, (lo,))
    j = len(idx) if hi is None else bisect.bisect_left(idx, (hi,))
    return i, max(i, j)


# -- the cursor ---------------------------------------------------------------------------------
def _encode_cursor(identity, served, last_key):
    """Opaque: the position after the last item (its sort key: search_after, so writes between
    pages move records without corrupting the walk), the query's identity, when it was issued
    (time.monotonic) and how many objects the walk has returned. A checksum makes any edit a
    garbage cursor."""
    payload = json.dumps({"v": CURSOR_VERSION, "q": identity, "t": time.monotonic(), "n": served,
                          "k": list(last_key)}, separators=(",", ":"))
    check = hashlib.sha256(payload.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode((check + payload).encode()).decode().rstrip("=")


def read_cursor(text, identity, sb):
    """The decoded cursor, or None for none; 400 `field-errors.cursor` for a garbage cursor, one
    from another query, an expired one (older than `search_cursor_ttl` seconds) and one whose walk
    has returned `search_cursor_cap` objects. Close's cursor "expires after 30s, and one cursor walk
    returns at most 10k objects", answered as a 400 with `field-errors.cursor` [3rd-party: PH-PR,
    MAKO, §Q1 1.4]. An empty string is no cursor [I: clients stop on null or empty]."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        invalid("cursor", "Invalid cursor.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        check, payload = raw[:12], raw[12:]
        if hashlib.sha256(payload.encode()).hexdigest()[:12] != check:
            raise ValueError
        cur = json.loads(payload)
        if cur.get("v") != CURSOR_VERSION:
            raise ValueError
        cur["k"] = tuple(cur["k"])
        issued, served = float(cur["t"]), int(cur["n"])
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError):
        invalid("cursor", "Invalid cursor.")
    if cur["q"] != identity:
        invalid("cursor", "This cursor belongs to a different query.")
    if time.monotonic() - issued >= sb.search_cursor_ttl:
        invalid("cursor", "This cursor has expired.")
    if served >= sb.search_cursor_cap:
        invalid("cursor", "This cursor has reached the maximum number of results (%d)." % sb.search_cursor_cap)
    return cur

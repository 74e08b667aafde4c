"""The API resources: list and single-object endpoints with Close's filters,
orders and envelopes. Each handler gets (sandbox, params, *path args) and
returns the JSON body, or raises params.ApiError."""
import threading
from collections import OrderedDict

from . import activities, eventlog, leadquery, params as P, records, tasks as task_builders, timefmt
from .customfields import MODEL_NAMES as CF_MODELS, OBJECT_TYPES as CF_TYPES
from . import custom_objects
from . import org_tables
from . import sequences as sequence_endpoints

LEAD_ONLY_ACTIVITY_FILTERS = ("user_id", "user_id__in", "contact_id", "contact_id__in", "_type", "_type__in")
TASK_ORDERS = {"date": ("date", False), "-date": ("date", True),
               "date_created": ("date_created", False), "-date_created": ("date_created", True)}
OPP_ORDERS = {"date_created": ("date_created", False), "-date_created": ("date_created", True),
              "date_updated": ("date_updated", False), "-date_updated": ("date_updated", True)}
USER_ORDERS = {"last_name,first_name": ("last_name", "first_name"),
               "first_name,last_name": ("first_name", "last_name")}


class QueryCache:
    """Filtered+sorted id lists keyed by (query, store version): paging through
    one query costs one selection, then slicing per page."""

    def __init__(self, size=128):
        self._data = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get_or_compute(self, key, fn):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = fn()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.size:
                self._data.popitem(last=False)
        return value


def _cache_key(coll, group, extra, params):
    skip = {"_skip", "_limit", "_fields"}
    return (coll.name, coll.version, group, extra, tuple(sorted((k, v) for k, v in params.items() if k not in skip)))


def _page_of(sb, group, params, coll, compute, allow_zero=False, with_total=False, extra=None):
    skip, limit = P.paging(params, group, sb.paging, allow_zero=allow_zero)
    store = sb.store
    with store.lock:
        ids_ = sb.query_cache.get_or_compute(_cache_key(coll, group, extra, params), compute)
        if sb.faults.take_deleted(group, skip):
            raise P.ApiError(404, "Empty query: Document has been deleted.")
        if _shift_offset(sb, group, skip, ids_, lambda rid: store.delete_listed(coll.name, rid)):
            # the deletion bumped the collection's version: the list as it is now
            ids_ = sb.query_cache.get_or_compute(_cache_key(coll, group, extra, params), compute)
        page = [coll.by_id[i] for i in ids_[skip:skip + limit] if i in coll.by_id]
    wanted = P.fields(params)
    return P.envelope([P.trim(r, wanted) for r in page], skip, len(ids_), with_total)


def _shift_offset(sb, group, skip, ids_, delete):
    """The offset_shift fault (faults.py): before answering a list request with _skip>0, really
    delete the records just before the offset in the list's current order (one unless asked
    for more), so the tail shifts left and a client stepping _skip by its page length skips
    them. The API key's own user is never deleted (`delete` returns False): the nearest record
    before it goes instead, which shifts the tail the same way. True when a record was deleted."""
    records = sb.faults.take_offset_shift(group) if skip > 0 else 0
    deleted = 0
    for rid in reversed(ids_[:skip]):
        if deleted == records:
            break
        deleted += bool(delete(rid))
    return deleted > 0


def _one(sb, params, coll, rid, model):
    rec = coll.get(rid)
    if rec is None:
        P.not_found(model)
    return P.trim(rec, P.fields(params))


def _csv(value):
    return [v for v in (value or "").split(",") if v]


# -- /me/ and users ---------------------------------------------------------
def me(sb, params):
    with sb.store.lock:
        return P.trim(sb.store.me(), P.fields(params))


def users(sb, params, rid=None):
    coll = sb.store.users
    if rid:
        return _one(sb, params, coll, rid, "User")
    order = params.get("_order_by")
    if order is not None and order not in USER_ORDERS:
        P.bad_request("Invalid _order_by: must be one of %s." % ", ".join(sorted(USER_ORDERS)))

    def compute():
        ids_ = coll.select("date_created", False, {})   # default: creation order [I]
        if order:
            a, b = USER_ORDERS[order]
            ids_.sort(key=lambda i: (coll.by_id[i][a] or "", coll.by_id[i][b] or "", i))
        return ids_
    return _page_of(sb, "user", params, coll, compute)


# -- leads ------------------------------------------------------------------
def leads(sb, params, rid=None):
    coll = sb.store.leads
    if rid:
        return _one(sb, params, coll, rid, "Lead")
    q = leadquery.parse(params.get("query", ""))

    def compute():
        key, desc = q.sort or ("date_created", True)   # default: newest created first
        pred = None
        if q.words:
            pred = lambda r: all(w in r["display_name"].lower() for w in q.words)
        return coll.select(key, desc, q.ranges, pred)
    return _page_of(sb, "lead", params, coll, compute, allow_zero=True, with_total=True)


def contacts(sb, params, rid=None):
    coll = sb.store.contacts
    if rid:
        return _one(sb, params, coll, rid, "Contact")
    lead_id = params.get("lead_id")

    def compute():
        cands = sb.store.children.get(lead_id, {}).get("contact", []) if lead_id else None
        return coll.select("date_created", True, {}, candidates=cands)
    return _page_of(sb, "contact", params, coll, compute)


def opportunities(sb, params, rid=None):
    coll = sb.store.opportunities
    if rid:
        return _one(sb, params, coll, rid, "Opportunity")
    order = params.get("_order_by") or "-date_created"
    if order not in OPP_ORDERS:
        P.bad_request("Invalid _order_by: must be one of %s." % ", ".join(sorted(OPP_ORDERS)))
    ranges = P.date_ranges(params, ("date_created", "date_updated"))
    lead_id = params.get("lead_id")

    def compute():
        cands = sb.store.children.get(lead_id, {}).get("opportunity", []) if lead_id else None
        key, desc = OPP_ORDERS[order]
        return coll.select(key, desc, ranges, candidates=cands)
    body = _page_of(sb, "opportunity", params, coll, compute, allow_zero=True, with_total=True)
    return _with_aggregates(sb, params, body, compute)


def _with_aggregates(sb, params, body, compute):
    coll = sb.store.opportunities
    with sb.store.lock:
        ids_ = sb.query_cache.get_or_compute(_cache_key(coll, "opportunity", None, params), compute)
        recs = [coll.by_id[i] for i in ids_ if i in coll.by_id]
    totals = {"one_time": 0, "monthly": 0, "annual": 0}
    counts = {"one_time": 0, "monthly": 0, "annual": 0}
    for r in recs:
        totals[r["value_period"]] += r["value"] or 0
        counts[r["value_period"]] += 1
    data = body.pop("data")
    body.update({"total_value_one_time": totals["one_time"], "total_value_monthly": totals["monthly"],
                 "total_value_annual": totals["annual"], "count_by_value_period": counts, "data": data})
    return body


# -- activities -------------------------------------------------------------
def activities_(sb, params, endpoint=None, rid=None):
    coll = sb.store.activities
    want_type = activities.ENDPOINT_TYPES[endpoint] if endpoint else None
    if rid:
        rec = coll.get(rid)
        if rec is None or not activities.matches_type(rec, want_type):
            P.not_found(want_type)
        return P.trim(rec, P.fields(params))
    lead_id = params.get("lead_id")
    for name in LEAD_ONLY_ACTIVITY_FILTERS:
        if params.get(name) is not None and not lead_id:
            P.bad_request("The %s filter can only be used when listing the activities of a single "
                          "lead (lead_id)." % name)
    if want_type == "Custom" and (params.get("custom_activity_type_id") or params.get("custom_activity_type_id__in")) and not lead_id:
        P.bad_request("Filtering by custom_activity_type_id requires lead_id.")
    ranges = P.date_ranges(params, ("date_created",))
    # Org-wide lists ignore _order_by and stay newest first by date_created;
    # a single lead may be sorted by activity_at.
    order = params.get("_order_by") if lead_id else None
    by_activity_at = order in ("activity_at", "-activity_at")
    at_ranges = P.date_ranges(params, ("activity_at",)) if by_activity_at else {}
    types = set(_csv(params.get("_type__in"))) | set(_csv(params.get("_type")))
    users_ = set(_csv(params.get("user_id__in"))) | set(_csv(params.get("user_id")))
    contacts_ = set(_csv(params.get("contact_id__in"))) | set(_csv(params.get("contact_id")))
    catypes = set(_csv(params.get("custom_activity_type_id__in"))) | set(_csv(params.get("custom_activity_type_id")))
    wanted_ids = set(_csv(params.get("id__in")))   # org-wide, unlike the lead-only filters

    def pred(r):
        if wanted_ids and r["id"] not in wanted_ids:
            return False
        if want_type and not activities.matches_type(r, want_type):
            return False
        if types and not any(activities.matches_type(r, t) for t in types) \
                and not (activities.is_custom(r) and r.get("custom_activity_type_id") in types):
            return False
        if users_ and r["user_id"] not in users_:
            return False
        if contacts_ and r.get("contact_id") not in contacts_:     # TaskCompleted has no contact_id
            return False
        if catypes and r.get("custom_activity_type_id") not in catypes:
            return False
        return True

    def compute():
        cands = sb.store.children.get(lead_id, {}).get("activity", []) if lead_id else None
        if wanted_ids:
            cands = [i for i in (wanted_ids if cands is None else cands) if i in wanted_ids]
        ids_ = coll.select("date_created", True, ranges, pred, candidates=cands)
        if by_activity_at:
            from .timefmt import parse
            at = {i: parse(coll.by_id[i]["activity_at"]) for i in ids_}
            if at_ranges:
                lo, hi = at_ranges["activity_at"]
                ids_ = [i for i in ids_ if (lo is None or at[i] >= lo) and (hi is None or at[i] < hi)]
            ids_.sort(key=lambda i: (at[i], i), reverse=order.startswith("-"))
        return ids_
    return _page_of(sb, "activity", params, coll, compute, extra=endpoint)


# -- tasks --------------------------------------------------------------------
def tasks_(sb, params, rid=None):
    coll = sb.store.tasks
    if rid:
        return _one(sb, params, coll, rid, "Task")
    # Without _type Close returns only lead tasks; _type=all returns every type.
    types = set(_csv(params.get("_type__in"))) or {params.get("_type") or "lead"}
    if "all" in types:
        types = None
    order = params.get("_order_by") or "-date_created"
    if order not in TASK_ORDERS:
        P.bad_request("Invalid _order_by: must be one of %s." % ", ".join(sorted(TASK_ORDERS)))
    ranges = P.date_ranges(params, ("date_created", "date_updated"))
    # `date` filters compare either form of a task's date (a date counts as its day's start);
    # dateless tasks match no date filter [Close docs: tasks; I: dateless].
    date_range = P.date_ranges(params, ("date",)).get("date")
    complete = params.get("is_complete")
    if complete is not None:
        if complete.lower() not in ("true", "false", "1", "0"):
            P.bad_request("Invalid value for is_complete: %r." % complete)
        complete = complete.lower() in ("true", "1")
    view = params.get("view")
    if view is not None and view not in ("inbox", "future", "archive"):
        P.bad_request("Invalid value for view: %r." % view)
    if view in ("inbox", "future"):
        date_range = None     # inbox/future override date__lt/date__gte [Close docs: OAS /task/]
    today = timefmt.fmt_date(sb.clock.now_us()) if view is not None else None
    lead_id = params.get("lead_id")
    ids_in = set(_csv(params.get("id__in"))) | set(_csv(params.get("id")))
    assigned = params.get("assigned_to")

    def in_date_range(r):
        key = timefmt.task_date_key(r.get("date"))
        lo, hi = date_range
        return key is not None and (lo is None or key[0] >= lo) and (hi is None or key[0] < hi)

    def pred(r):
        return ((types is None or r["_type"] in types)
                and (complete is None or r["is_complete"] == complete)
                and (view is None or task_builders.view_of(r, today) == view)
                and (date_range is None or in_date_range(r))
                and (assigned is None or r["assigned_to"] == assigned))

    def compute():
        cands = sb.store.children.get(lead_id, {}).get("task", []) if lead_id else None
        if ids_in:
            cands = [i for i in (cands if cands is not None else ids_in) if i in ids_in]
        key, desc = TASK_ORDERS[order]
        if key == "date":
            ids_ = coll.select("date_created", False, ranges, pred, candidates=cands)
            # Dateless tasks sort first (treated as earliest) [I].
            ids_.sort(key=lambda i: (coll.by_id[i]["date"] or "", i), reverse=desc)
            return ids_
        return coll.select(key, desc, ranges, pred, candidates=cands)
    return _page_of(sb, "task", params, coll, compute)


# -- custom fields and configuration objects ----------------------------------
def custom_fields(sb, params, object_type=None, rid=None):
    if object_type not in CF_TYPES:
        raise P.ApiError(404, P.NOT_FOUND)
    defs = sb.store.cf[object_type]
    if rid:
        for d in defs:
            if d["id"] == rid:
                return P.trim(d, P.fields(params))
        P.not_found(CF_MODELS[object_type])
    return _static_list(sb, "custom_field", params, lambda: sb.store.cf[object_type],
                        lambda item_id: sb.store.delete_listed("custom_field", item_id, object_type))


def _static_list(sb, group, params, load, delete=None):
    """A small list served whole from `load()`; `delete(id)` removes one of its items for the
    offset_shift fault (None: the list cannot shift)."""
    skip, limit = P.paging(params, group, sb.paging)
    if sb.faults.take_deleted(group, skip):
        raise P.ApiError(404, "Empty query: Document has been deleted.")
    with sb.store.lock:
        _shift_offset(sb, group, skip, [d["id"] for d in load()], delete or (lambda item_id: False))
        items = list(load())      # a snapshot: a later deletion edits the store's list in place
    wanted = P.fields(params)
    page = [P.trim(d, wanted) for d in items[skip:skip + limit]]
    return P.envelope(page, skip, len(items))


def statuses(sb, params, kind=None, rid=None):
    ctx = sb.store.ctx
    if kind == "lead":
        load = lambda: [dict(s, organization_id=ctx.org_id) for s in ctx.lead_statuses]
    elif kind == "opportunity":
        # Close sends no pipeline_name on a status [ABR]; the generator keeps it for its own use.
        load = lambda: [dict(records.served_status(s), organization_id=ctx.org_id) for s in ctx.opp_statuses]
    else:
        raise P.ApiError(404, P.NOT_FOUND)
    return _static_resource(sb, "status", "Status", params, load, rid, kind + "_status")


def pipelines(sb, params, rid=None):
    return _static_resource(sb, "pipeline", "Pipeline", params, lambda: sb.store.ctx.pipelines, rid, "pipeline")


def custom_activity_types(sb, params, rid=None):
    return _static_resource(sb, "custom_activity", "CustomActivityType", params,
                            lambda: sb.store.ctx.custom_activity_types, rid, "custom_activity_type")


def _static_resource(sb, group, model, params, load, rid, kind):
    """A small fixed list (statuses, pipelines, custom activity types) or one of its items;
    `kind` names it for Store.delete_listed (the offset_shift fault)."""
    if rid:
        for item in load():
            if item["id"] == rid:
                return P.trim(item, P.fields(params))
        P.not_found(model)
    return _static_list(sb, group, params, load, lambda item_id: sb.store.delete_listed(kind, item_id))


# -- events ---------------------------------------------------------------------
def events(sb, params, rid=None):
    store = sb.store
    coll = store.events
    horizon = store.event_horizon()
    if rid:
        rec = coll.get(rid)
        if rec is None or coll.times[rid]["date_updated"] < horizon:
            P.not_found("Event")
        return P.trim(rec, P.fields(params))
    raw_limit = P.int_param(params, "_limit", eventlog.MAX_LIMIT)
    if raw_limit < 1:
        P.bad_request("Invalid value for _limit: must be between 1 and %d." % eventlog.MAX_LIMIT)
    limit = min(raw_limit, eventlog.MAX_LIMIT)          # "capped at 50": clamp, not 400 [I]
    filters = {k: params[k] for k in eventlog.FILTER_KEYS if params.get(k)}
    if frozenset(filters) not in eventlog.ALLOWED:
        P.bad_request("Unsupported combination of filters: %s. See the list of allowed filter "
                      "combinations in the event log documentation." % ", ".join(sorted(filters)))
    lo, hi = P.date_ranges(params, ("date_updated",)).get("date_updated", (None, None))
    cursor = None
    if params.get("_cursor"):
        try:
            cursor = eventlog.decode_cursor(params["_cursor"])
        except ValueError:
            P.bad_request("Invalid cursor.")
        # The cursor carries the original date bounds; resent ones are tolerated.
        clo, chi = cursor.get("lo"), cursor.get("hi")
        lo = clo if lo is None else (lo if clo is None else max(lo, clo))
        hi = chi if hi is None else (hi if chi is None else min(hi, chi))
    eff_lo = horizon if lo is None else max(lo, horizon)
    with store.lock:
        entries = [e for e in coll.span("date_updated", eff_lo, hi)
                   if all(coll.by_id[e[1]].get(k) == v for k, v in filters.items())]
        chunk, nxt, prev = eventlog.page(entries, cursor, limit)
        data = [coll.by_id[rid_] for _, rid_ in chunk]
    wanted = P.fields(params)

    def enc(key, direction):
        return eventlog.encode_cursor({"k": key, "d": direction, "lo": lo, "hi": hi}) if key else None
    return {"data": [P.trim(r, wanted) for r in data], "cursor_next": enc(nxt, "next"),
            "cursor_previous": enc(prev, "prev")}


# -- routing --------------------------------------------------------------------
def route(segs):
    """segments after /api/v1 -> (group, handler, args) or None."""
    if not segs:
        return None
    head, rest = segs[0], segs[1:]
    simple = {"user": users, "lead": leads, "contact": contacts, "opportunity": opportunities,
              "task": tasks_, "event": events, "pipeline": pipelines, "custom_activity": custom_activity_types}
    if head == "me" and not rest:
        return "me", me, ()
    if head in simple and len(rest) <= 1:
        return head, simple[head], tuple(rest)
    if head in org_tables.ROUTES and len(rest) <= 1:     # templates, roles, groups, smart views, numbers
        return head, org_tables.ROUTES[head], tuple(rest)
    if head in sequence_endpoints.ROUTES and len(rest) <= 1:   # sequences and their subscriptions
        return head, sequence_endpoints.ROUTES[head], tuple(rest)
    if head in custom_objects.ROUTES and len(rest) <= 1:     # custom object types and instances
        return head, custom_objects.ROUTES[head], tuple(rest)
    if head in ("custom_field", "custom_fields") and rest[:1] == ["custom_object_type"] and len(rest) <= 2:
        return "custom_field", custom_objects.field_definitions, tuple(rest[1:])
    if head in ("custom_field", "custom_fields") and 1 <= len(rest) <= 2:
        return "custom_field", custom_fields, tuple(rest)
    if head == "status" and 1 <= len(rest) <= 2 and rest[0] in ("lead", "opportunity"):
        return "status", statuses, tuple(rest)
    if head == "activity":
        if not rest:
            return "activity", activities_, ()
        for n in (2, 1):
            endpoint = "/".join(rest[:n])
            if len(rest) >= n and endpoint in activities.ENDPOINT_TYPES and len(rest) - n <= 1:
                return "activity", activities_, (endpoint,) + tuple(rest[n:])
    return None

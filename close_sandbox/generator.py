"""Seeded organization generator: random.Random(seed) only, never the global
random module, so the same seed and knobs give the same organization.

Returns plain data that Store loads: per kind a list of (record, times)."""
import random

from . import activities, customfields, records, tasks, timefmt
from .context import Ctx
from .genevents import generate_events
from .skew import Skew

MS = 1000


def _window_time(ctx, window):
    lo, hi = window
    return ctx.rand_time(lo, min(hi, ctx.now_us) - MS, avoid=False)


def _plan(ctx, n_leads, minute_cluster, day_cluster):
    """Decide which lead indices are cluster leads and which host the cluster
    activities/tasks. Returns ({index: window}, {index: window}, {window: [host idx]})."""
    span = ctx.now_us - ctx.start_us
    windows = []
    if minute_cluster:
        m0 = timefmt.floor_minute(ctx.now_us - span // 4)
        windows.append(("minute", (m0, m0 + timefmt.MINUTE), minute_cluster))
    if day_cluster:
        d0 = timefmt.floor_day(ctx.now_us - span * 3 // 5)
        windows.append(("day", (d0, min(d0 + timefmt.DAY, ctx.now_us)), day_cluster))
    ctx.windows = [w for _, w, _ in windows]
    cluster_of, host_of, hosts = {}, {}, {}
    nxt = 0
    for _, w, n in windows:
        for i in range(nxt, min(nxt + n, n_leads)):
            cluster_of[i] = w
        nxt = min(nxt + n, n_leads)
    for _, w, n in windows:
        hosts[w] = list(range(nxt, min(nxt + 3, n_leads)))
        for i in hosts[w]:
            host_of[i] = w
        nxt = min(nxt + 3, n_leads)
    return cluster_of, host_of, hosts, windows


def _task_type(ctx, lead_view):
    """A random task type; opportunity_due only on a lead that has an
    opportunity, since the task points at one [ABR: object_type opportunity,
    object_id a real oppo_ of the lead]."""
    _type = tasks.random_type(ctx)
    return "lead" if _type == "opportunity_due" and not lead_view["opportunities"] else _type


def _complete_with_activity(ctx, out, lead_view, task, created, done_by):
    """A completed lead task gets the TaskCompleted activity Close logs when
    it is ticked off, and both point at each other [ABR: task_7kpM... with
    object_id acti_gdh0..., whose task_id is task_7kpM...]. The activity is
    created shortly before done_by (the task's date_updated, or the start of
    a cluster window), by the user who last updated the task."""
    if task["_type"] != "lead" or not task["is_complete"]:
        return
    at = ctx.rand_time(max(created, done_by - 5 * timefmt.MINUTE), max(created, done_by))
    act = activities.build(ctx, lead_view, "TaskCompleted", at, at, ctx.users_by_id[task["updated_by"]])
    tasks.link_completion(task, act)
    out["activities"].append((act, {"date_created": at, "date_updated": at}))


def _definitions_2025(custom_fields):
    """Keys a live 2025 account returns on custom field definitions and the
    sandbox lacked [singer-io/tap-closeio tests/base.py, "extra_fields" seen
    against a live account]. Their values are not shown there: false/null
    are guesses [I]. setdefault: customfields.py may add them itself."""
    for defs in custom_fields.values():
        for d in defs:
            d.setdefault("always_visible", False)
            d.setdefault("enrichment_enabled", False)
            d.setdefault("enrichment_options", None)


def generate(*, seed, leads, users, activities_per_lead, tasks_per_lead, events, days,
             minute_cluster, day_cluster, now_us, custom_activity_record_type="CustomActivity",
             skew=False):
    rng = random.Random(seed)
    ctx = Ctx(rng, now_us, days)
    # The `_type` custom activity records carry; it draws no random number, so both values
    # give the same organization (same ids) apart from `_type`.
    ctx.custom_activity_record_type = activities.check_custom_record_type(custom_activity_record_type)
    records.build_org(ctx)
    records.build_users(ctx, users)
    records.build_statuses(ctx)
    ctx.custom_fields, ctx.custom_activity_types = customfields.generate_definitions(ctx)
    _definitions_2025(ctx.custom_fields)
    lead_fields = customfields.fields_for(ctx.custom_fields, "lead")
    contact_fields = customfields.fields_for(ctx.custom_fields, "contact")
    opp_fields = customfields.fields_for(ctx.custom_fields, "opportunity")
    cluster_of, host_of, hosts, windows = _plan(ctx, leads, minute_cluster, day_cluster)
    # skew.py: an import day, one-minute bursts, growth. None (skew off) draws nothing, so the
    # default organization is the one generated before skew existed.
    skewed = Skew(ctx, leads, reserved=cluster_of.keys() | host_of.keys()) if skew else None

    out = {"leads": [], "contacts": [], "opportunities": [], "activities": [], "tasks": []}
    lead_parts = []   # per lead: [base, contacts, opps, tasks, custom_values, own_us, created_us, child_max]
    now = ctx.now_us
    for i in range(leads):
        w = cluster_of.get(i) or host_of.get(i)
        timeline = skewed.lead(i) if skewed is not None and w is None else None
        if timeline is not None:
            created, own = timeline.created, timeline.own
        elif w is not None:
            created = ctx.rand_time(ctx.start_us, w[0] - MS)
            own = _window_time(ctx, w) if i in cluster_of else ctx.rand_time(w[1], now - MS)
        else:
            created = ctx.rand_time(ctx.start_us, now - 10 * timefmt.MINUTE)
            own = ctx.later(created, now, p_same=0.4)
        child_hi = w[0] - MS if i in cluster_of else now
        base, domain = records.build_lead_base(ctx, created, own)
        child_max = own

        def child_times(p_same, first=False):
            c = created if first else ctx.rand_time(created, child_hi)
            return c, ctx.later(c, child_hi, p_same)

        contacts = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            c, u = timeline.contact(0.6) if timeline else child_times(0.6)
            contacts.append(records.build_contact(ctx, base["id"], domain, c, u, contact_fields))
            out["contacts"].append((contacts[-1], {"date_created": c, "date_updated": u}))
            child_max = max(child_max, u)
        custom_by_name, custom_values = records.lead_custom(ctx, lead_fields, [c["id"] for c in contacts])
        base["custom"] = custom_by_name
        opps = []
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            c, u = timeline.opportunity(0.5) if timeline else child_times(0.5)
            opps.append(records.build_opportunity(ctx, base, contacts, c, u, opp_fields))
            out["opportunities"].append((opps[-1], {"date_created": c, "date_updated": u}))
            child_max = max(child_max, u)
        view = dict(base, contacts=contacts, opportunities=opps)
        n_acts = rng.randint(0, 2 * activities_per_lead) if activities_per_lead > 0 else 0
        for k in range(n_acts):
            _type = "Created" if k == 0 else activities.random_type(ctx)
            if timeline:
                _type, c, u = timeline.activity(_type, first=(k == 0), p_same=0.8)
            else:
                c, u = child_times(0.8, first=(k == 0))
            out["activities"].append((activities.build(ctx, view, _type, c, u),
                                      {"date_created": c, "date_updated": u}))
            child_max = max(child_max, u)
        lead_tasks = []
        n_tasks = rng.randint(0, 2 * tasks_per_lead) if tasks_per_lead > 0 else 0
        for _ in range(n_tasks):
            c, u = timeline.task(0.5) if timeline else child_times(0.5)
            lead_tasks.append(tasks.build(ctx, view, _task_type(ctx, view), c, u))
            out["tasks"].append((lead_tasks[-1], {"date_created": c, "date_updated": u}))
            _complete_with_activity(ctx, out, view, lead_tasks[-1], c, u)
            child_max = max(child_max, u)
        if timeline:
            child_max = timeline.settled(child_max)     # a bulk edit after every child, for some
        lead_parts.append([base, contacts, opps, lead_tasks, custom_values, created, child_max, view])

    # Cluster activities (date_created) and tasks (date_updated) inside one
    # minute / one day, on host leads whose own date_updated is after it.
    for _, w, n in windows:
        if not hosts[w]:
            continue
        for k in range(n):
            part = lead_parts[hosts[w][k % len(hosts[w])]]
            c = _window_time(ctx, w)
            _type = rng.choice(["Note", "Call", "Email", "SMS"])
            out["activities"].append((activities.build(ctx, part[7], _type, c, c),
                                      {"date_created": c, "date_updated": c}))
        for k in range(n):
            part = lead_parts[hosts[w][k % len(hosts[w])]]
            c = ctx.rand_time(part[5], w[0] - MS)
            u = _window_time(ctx, w)
            t = tasks.build(ctx, part[7], _task_type(ctx, part[7]), c, u)
            part[3].append(t)
            out["tasks"].append((t, {"date_created": c, "date_updated": u}))
            # completed before the window: no other activity may fall inside it
            _complete_with_activity(ctx, out, part[7], t, c, w[0] - MS)

    for base, contacts, opps, lead_tasks, custom_values, created, child_max, _ in lead_parts:
        # A lead's date_updated moves with its children (reference section 8).
        base["date_updated"] = timefmt.fmt(child_max)
        lead = records.compose_lead(base, contacts, opps, lead_tasks, custom_values)
        out["leads"].append((lead, {"date_created": created, "date_updated": child_max},
                             base, custom_values))

    out["events"] = generate_events(ctx, out, events)
    out["ctx"] = ctx
    out["windows"] = {kind: w for kind, w, _ in windows}
    if skewed is not None:     # the layout for tests and the bench (Sandbox.skew)
        out["skew"] = skewed.layout()
    return out

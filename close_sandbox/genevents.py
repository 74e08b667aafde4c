"""Generated event log: created/updated events for records touched in the
last ~40 days (so some fall beyond the 30-day horizon), a few consolidated
events (date_updated later than date_created), padded with created+deleted
pairs of objects that no longer exist, up to the requested count."""
from . import activities, eventlog, ids, records, tasks, timefmt

WINDOW_US = 40 * timefmt.DAY
MS = 1000

CHANGE_FIELD = {"lead": "description", "contact": "title", "opportunity": "confidence"}


def object_type_of(kind, rec):
    if kind == "activity":
        return activities.EVENT_OBJECT_TYPES.get(rec["_type"], "activity." + rec["_type"].lower())
    if kind == "task":
        return "task." + rec["_type"]
    return kind


def request_path(kind, rec, method):
    if kind == "activity":   # the typed endpoint's path: activity/custom/, activity/status_change/lead/, ...
        _type = rec.get("_type", "Note")
        base = "activity/" + (activities.endpoint_of(_type) or _type.lower())
    else:
        base = {"lead": "lead", "contact": "contact", "opportunity": "opportunity", "task": "task"}[kind]
    return "/api/v1/%s/" % base + ("" if method == "POST" else rec["id"] + "/")


def _meta(ctx, kind, rec, method):
    if ctx.rng.random() < 0.5:
        return {}
    return {"request_path": request_path(kind, rec, method), "request_method": method}


def _actor(ctx, rec):
    return rec.get("updated_by") or rec.get("user_id") or ctx.api_user["id"]


def _changed(ctx, kind, rec, prev_updated_us):
    field = CHANGE_FIELD.get(kind)
    if kind == "activity":
        field = "note" if "note" in rec else ("subject" if "subject" in rec else None)
    if kind == "task":
        # Notification tasks have no `text` [ABR: email_followup, opportunity_due]:
        # their edit is a completion toggle.
        field = "text" if "text" in rec else "is_complete"
    prev = {"date_updated": timefmt.fmt(prev_updated_us)}
    if field == "is_complete":
        prev[field] = not rec[field]
    elif field:
        old = rec[field]
        prev[field] = ("(old) " + old) if isinstance(old, str) else (old or 0) + 5 if isinstance(old, int) else None
    return sorted(prev), prev


def _event(ctx, kind, rec, action, at, data, prev, changed, created_us=None, method="PUT"):
    api = ctx.rng.random() < 0.3
    return eventlog.make(
        ctx.rng, ctx.org_id, object_type=object_type_of(kind, rec), object_id=rec["id"],
        lead_id=rec["id"] if kind == "lead" else rec.get("lead_id"), action=action, at_us=at,
        data=data, previous_data=prev, changed_fields=changed,
        meta=_meta(ctx, kind, rec, method), user_id=_actor(ctx, rec),
        request_id=ids.make(ctx.rng, "req"), api_key_id=ids.make(ctx.rng, "api") if api else None,
        created_us=created_us)


def _candidates(ctx, out):
    horizon = ctx.now_us - WINDOW_US
    found = []
    sources = [("lead", [(r, t) for r, t, *_ in out["leads"]]), ("contact", out["contacts"]),
               ("opportunity", out["opportunities"]), ("task", out["tasks"]),
               ("activity", out["activities"])]
    for kind, rows in sources:
        for rec, t in rows:
            c, u = t["date_created"], t["date_updated"]
            if c >= horizon:
                found.append((c + ctx.rng.randint(0, 3) * MS, kind, rec, "created", c))
            if u >= horizon and u > c:
                found.append((u + ctx.rng.randint(0, 3) * MS, kind, rec, "updated", c))
    return found


def _phantom(ctx, out):
    """A record that existed briefly: built like a real one, never stored."""
    rng = ctx.rng
    lead_row = rng.choice(out["leads"]) if out["leads"] else None
    t1 = ctx.rand_time(ctx.now_us - WINDOW_US, ctx.now_us - timefmt.MINUTE, avoid=False)
    t2 = ctx.rand_time(t1, ctx.now_us, avoid=False)
    choice = rng.random()
    if lead_row is None or choice < 0.25:
        base, _ = records.build_lead_base(ctx, t1, t1)
        return "lead", records.compose_lead(base, [], [], [], {}), t1, t2
    lead = lead_row[0]
    if choice < 0.5:
        return "contact", records.build_contact(ctx, lead["id"], "phantom.example.com", t1, t1, []), t1, t2
    if choice < 0.75:
        return "task", tasks.build(ctx, lead, "lead", t1, t1, complete=False), t1, t2
    return "activity", activities.build(ctx, lead, "Note", t1, t1), t1, t2


def generate_events(ctx, out, count):
    rng = ctx.rng
    cands = _candidates(ctx, out)
    cands.sort(key=lambda c: (c[0], c[2]["id"], c[3]))
    # Keep ~1 in 20 for created+deleted pairs, so deletes always occur.
    room = count - (max(2, count // 20) if count >= 4 else 0)
    if len(cands) > room:
        cands = sorted(rng.sample(cands, room), key=lambda c: (c[0], c[2]["id"], c[3]))
    events = []
    for at, kind, rec, action, created in cands:
        if action == "created":
            events.append(_event(ctx, kind, rec, "created", at, rec, {}, [], method="POST"))
        else:
            prev_u = ctx.rand_time(created, at - MS, avoid=False)
            changed, prev = _changed(ctx, kind, rec, prev_u)
            # Consolidated: several quick edits merged into one event.
            ev_created = at - rng.randint(1, 90) * timefmt.SECOND if rng.random() < 0.08 else None
            if ev_created is not None and ev_created <= created:
                ev_created = None
            events.append(_event(ctx, kind, rec, "updated", at, rec, prev, changed, ev_created))
    while len(events) < count:
        kind, rec, t1, t2 = _phantom(ctx, out)
        events.append(_event(ctx, kind, rec, "created", t1, rec, {}, [], method="POST"))
        if len(events) < count:
            # Deleted: data is null; previous_data keeps the last snapshot [I].
            events.append(_event(ctx, kind, rec, "deleted", t2, None, rec, [], method="DELETE"))
    return events

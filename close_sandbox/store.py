"""In-memory organization: collections with sorted indexes, the lead
composition (a lead embeds its contacts, opportunities and incomplete tasks),
mutations and the events they create.

Close semantics kept here: a child change (activity, task, opportunity,
contact) moves the lead's date_updated WITHOUT a lead `updated` event;
deleting a lead emits `deleted` events for the lead and every child."""
import hashlib
import json
import random
import threading

from . import activities, customfields, eventlog, ids, records, tasks, timefmt
from .collection import Collection
from .genevents import object_type_of, request_path

KINDS = ("user", "lead", "activity", "task", "custom_field", "event", "contact", "opportunity")
CHILD_KINDS = ("activity", "task", "opportunity", "contact")


def _copy(obj):
    return json.loads(json.dumps(obj))


def _parse_times(rec, keys=("date_created", "date_updated")):
    return {k: timefmt.parse(rec[k].replace("+00:00", "")) for k in keys}


class Store:
    def __init__(self, data, clock, seed):
        self.lock = threading.RLock()
        self.clock = clock
        self.ctx = data["ctx"]
        # Mutations draw from their own streams so they are deterministic given
        # the seed and the sequence of calls, independent of generation.
        self.ctx.rng = random.Random("%s:mutations" % seed)
        self.pick_rng = random.Random("%s:control" % seed)
        self.api_key_id = ids.make(random.Random("%s:apikey" % seed), "api")
        self.version = 0
        self.windows = data["windows"]
        ctx = self.ctx
        self.users = Collection("user")
        self.users.load([(u, _parse_times(u)) for u in ctx.users])
        self.leads = Collection("lead")
        self.leads.load([(lead, times) for lead, times, _, _ in data["leads"]])
        self.lead_base = {lead["id"]: base for lead, _, base, _ in data["leads"]}
        self.lead_custom = {lead["id"]: cv for lead, _, _, cv in data["leads"]}
        self.contacts = Collection("contact")
        self.contacts.load(data["contacts"])
        self.opportunities = Collection("opportunity")
        self.opportunities.load(data["opportunities"])
        self.activities = Collection("activity", ("date_created",))
        self.activities.load(data["activities"])
        self.tasks = Collection("task")
        self.tasks.load(data["tasks"])
        self.events = Collection("event", ("date_updated",))
        self.events.load([(e, {"date_updated": timefmt.parse(e["date_updated"])}) for e in data["events"]])
        self.children = {lid: {k: [] for k in CHILD_KINDS} for lid in self.lead_base}
        for kind in CHILD_KINDS:
            coll = self.coll(kind)
            for _, rid in coll.index["date_created"]:
                self.children[coll.by_id[rid]["lead_id"]][kind].append(rid)
        self.cf = {ot: list(v) for ot, v in ctx.custom_fields.items()}

    # -- reading ------------------------------------------------------------
    def coll(self, kind):
        return {"user": self.users, "lead": self.leads, "contact": self.contacts,
                "opportunity": self.opportunities, "activity": self.activities,
                "task": self.tasks, "event": self.events}[kind]

    def now_us(self):
        return self.clock.now_us()

    def event_horizon(self):
        return self.now_us() - eventlog.RETENTION_US

    def records(self, kind, include_expired=False):
        """Current records as the API serves them (deep copies), in the
        API's default list order."""
        with self.lock:
            if kind == "custom_field":
                return _copy([d for ot in customfields.OBJECT_TYPES for d in self.cf[ot]])
            if kind not in KINDS:
                raise ValueError("unknown kind %r" % kind)
            coll = self.coll(kind)
            if kind == "event":
                lo = None if include_expired else self.event_horizon()
                ids_ = coll.select("date_updated", True, {"date_updated": (lo, None)})
            elif kind == "user":
                ids_ = coll.select("date_created", False, {})
            else:
                ids_ = coll.select("date_created", True, {})
            return _copy([coll.by_id[i] for i in ids_])

    def custom_fields(self, object_type):
        with self.lock:
            return _copy(self.cf[object_type])

    def me(self):
        return records.me_record(self.ctx, self.users.by_id[self.ctx.api_user["id"]])

    # -- internals ----------------------------------------------------------
    def _api_user(self):
        return self.users.by_id[self.ctx.api_user["id"]]

    def _begin(self):
        """Start a mutation: one request id per call (all its events share it)."""
        self.version += 1
        self.ctx.now_us = self.now_us()
        self._request_id = ids.make(self.ctx.rng, "req")
        return self.ctx.now_us

    def _emit(self, kind, rec, action, now, data, prev, changed):
        method = {"created": "POST", "updated": "PUT", "deleted": "DELETE"}[action]
        ev = eventlog.make(
            self.ctx.rng, self.ctx.org_id, object_type=object_type_of(kind, rec), object_id=rec["id"],
            lead_id=rec["id"] if kind == "lead" else rec.get("lead_id"), action=action, at_us=now,
            data=data, previous_data=prev, changed_fields=changed,
            meta={"request_path": request_path(kind, rec, method), "request_method": method},
            user_id=self._api_user()["id"], request_id=self._request_id, api_key_id=self.api_key_id)
        self.events.put(ev, {"date_updated": now})
        return ev

    def _recompose(self, lead_id, now=None):
        base = self.lead_base[lead_id]
        if now is not None:
            base = dict(base, date_updated=timefmt.fmt(now))
            self.lead_base[lead_id] = base
        ch = self.children[lead_id]
        lead = records.compose_lead(
            base, [self.contacts.by_id[i] for i in ch["contact"]],
            [self.opportunities.by_id[i] for i in ch["opportunity"]],
            [self.tasks.by_id[i] for i in ch["task"]], self.lead_custom[lead_id])
        times = dict(self.leads.times[lead_id])
        if now is not None:
            times["date_updated"] = now
        self.leads.put(lead, times)
        return lead

    def _stamp(self, rec, now):
        user = self._api_user()
        rec["date_updated"] = timefmt.fmt(now)
        if "updated_by" in rec:
            rec["updated_by"] = user["id"]
        if "updated_by_name" in rec:
            rec["updated_by_name"] = self.ctx.name_of(user["id"])

    def _lead(self, lead_id):
        lead = self.leads.get(lead_id)
        if lead is None:
            raise KeyError("no lead %r" % lead_id)
        return lead

    def _add_child(self, kind, rec, now, overrides):
        for k, v in overrides.items():
            if k not in ("date_created", "date_updated", "id", "lead_id"):
                rec[k] = v
        self.coll(kind).put(rec, {"date_created": now, "date_updated": now})
        self.children[rec["lead_id"]][kind].append(rec["id"])
        self._recompose(rec["lead_id"], now)
        self._emit(kind, rec, "created", now, rec, {}, [])
        return rec

    def _update_child(self, kind, rid, changes):
        coll = self.coll(kind)
        old = coll.get(rid)
        if old is None:
            raise KeyError("no %s %r" % (kind, rid))
        now = self._begin()
        new = dict(old)
        new.update({k: v for k, v in changes.items() if k not in ("id", "lead_id", "date_created", "date_updated")})
        if "note" in changes and "note_html" in old and "note_html" not in changes:
            new["note_html"] = "<body><p>%s</p></body>" % changes["note"]
        if kind == "task":
            # a timed task due later today is in the inbox, not the future (tasks.view_of)
            new["view"] = tasks.view_of(new, timefmt.fmt_date(now))
        self._stamp(new, now)
        changed = sorted({k for k in new if new.get(k) != old.get(k)} | {"date_updated"})
        prev = {k: old.get(k) for k in changed}
        times = dict(coll.times[rid], date_updated=now)
        coll.put(new, times)
        self._recompose(new["lead_id"], now)
        self._emit(kind, new, "updated", now, new, prev, changed)
        return new

    # -- mutations (public) ----------------------------------------------------
    def add_lead(self, **overrides):
        with self.lock:
            now = self._begin()
            ctx = self.ctx
            base, domain = records.build_lead_base(ctx, now, now)
            contact = records.build_contact(ctx, base["id"], domain, now, now)
            fields = customfields.fields_for(self.cf, "lead")
            custom_by_name, values = records.lead_custom(ctx, fields, [contact["id"]])
            base["custom"] = custom_by_name
            for k, v in overrides.items():
                if k.startswith("custom."):
                    values[k] = v
                    names = {d["id"]: d["name"] for d in fields}
                    base["custom"][names.get(k[7:], k[7:])] = v
                elif k not in ("id", "date_created", "date_updated", "contacts", "opportunities", "tasks"):
                    base[k] = v
                    if k == "name" and "display_name" not in overrides:
                        base["display_name"] = v
            lid = base["id"]
            self.lead_base[lid] = base
            self.lead_custom[lid] = values
            self.children[lid] = {k: [] for k in CHILD_KINDS}
            self.leads.put(records.compose_lead(base, [], [], [], values), {"date_created": now, "date_updated": now})
            lead = self._recompose(lid)
            self._emit("lead", lead, "created", now, lead, {}, [])
            self._add_child("contact", contact, now, {})
            # Close logs a "Created" activity for every new lead.
            created = activities.build(ctx, self.leads.get(lid), "Created", now, now, self._api_user())
            created["source"] = "API"
            self._add_child("activity", created, now, {})
            return _copy(self.leads.get(lid))

    def update_lead(self, lead_id, **changes):
        with self.lock:
            old = self._lead(lead_id)
            now = self._begin()
            base = dict(self.lead_base[lead_id])
            values = dict(self.lead_custom[lead_id])
            names = {d["id"]: d["name"] for d in customfields.fields_for(self.cf, "lead")}
            custom = dict(base["custom"])
            for k, v in changes.items():
                if k.startswith("custom."):
                    name = names.get(k[7:], k[7:])
                    if v is None:
                        values.pop(k, None)
                        custom.pop(name, None)
                    else:
                        values[k] = v
                        custom[name] = v
                elif k in ("contacts", "opportunities", "tasks"):
                    raise ValueError("change %s through their own mutations" % k)
                elif k not in ("id", "date_created", "date_updated"):
                    base[k] = v
            if "name" in changes and "display_name" not in changes:
                base["display_name"] = changes["name"]
            if "status_id" in changes:
                label = {s["id"]: s["label"] for s in self.ctx.lead_statuses}.get(changes["status_id"])
                if label and "status_label" not in changes:
                    base["status_label"] = label
            base["custom"] = custom
            self._stamp(base, now)
            self.lead_base[lead_id] = base
            self.lead_custom[lead_id] = values
            lead = self._recompose(lead_id, now)
            changed = sorted({k for k in set(lead) | set(old)
                              if k not in ("contacts", "opportunities", "tasks")
                              and lead.get(k) != old.get(k)} | {"date_updated"})
            prev = {k: old.get(k) for k in changed}
            self._emit("lead", lead, "updated", now, lead, prev, changed)
            return _copy(lead)

    def delete_lead(self, lead_id):
        with self.lock:
            lead = self._lead(lead_id)
            now = self._begin()
            deleted = []
            for kind in CHILD_KINDS:
                for rid in self.children[lead_id][kind]:
                    rec = self.coll(kind).remove(rid)
                    self._emit(kind, rec, "deleted", now, None, rec, [])
                    deleted.append(rid)
            self.leads.remove(lead_id)
            del self.children[lead_id], self.lead_base[lead_id], self.lead_custom[lead_id]
            self._emit("lead", lead, "deleted", now, None, lead, [])
            return [lead_id] + deleted

    def add_activity(self, lead_id, _type="Note", **overrides):
        with self.lock:
            lead = self._lead(lead_id)
            now = self._begin()
            rec = activities.build(self.ctx, lead, _type, now, now, self._api_user())
            return _copy(self._add_child("activity", rec, now, overrides))

    def update_activity(self, activity_id, **changes):
        with self.lock:
            return _copy(self._update_child("activity", activity_id, changes))

    def add_task(self, lead_id, _type="lead", **overrides):
        with self.lock:
            lead = self._lead(lead_id)
            now = self._begin()
            rec = tasks.build(self.ctx, lead, _type, now, now, complete=False)
            return _copy(self._add_child("task", rec, now, overrides))

    def update_task(self, task_id, **changes):
        with self.lock:
            return _copy(self._update_child("task", task_id, changes))

    def update_contact(self, contact_id, **changes):
        with self.lock:
            return _copy(self._update_child("contact", contact_id, changes))

    def update_opportunity(self, opportunity_id, **changes):
        with self.lock:
            return _copy(self._update_child("opportunity", opportunity_id, changes))

    def delete_child(self, kind, rid):
        """Delete one contact, opportunity, task or activity: a `deleted` event for it [C: S1]."""
        with self.lock:
            rec = self.coll(kind).get(rid)
            if rec is None:
                raise KeyError("no %s %r" % (kind, rid))
            now = self._begin()
            self.coll(kind).remove(rid)
            if rec.get("lead_id") in self.children:
                self.children[rec["lead_id"]][kind].remove(rid)
                self._recompose(rec["lead_id"], now)
            self._emit(kind, rec, "deleted", now, None, rec, [])
            return rid

    def update_user(self, user_id, **changes):
        """Users have no events in Close's event list [I]."""
        with self.lock:
            old = self.users.get(user_id)
            if old is None:
                raise KeyError(user_id)
            now = self._begin()
            new = dict(old, **{k: v for k, v in changes.items() if k not in ("id", "date_created")})
            new["date_updated"] = timefmt.fmt(now)
            self.users.put(new, dict(self.users.times[user_id], date_updated=now))
            self.ctx.users_by_id[user_id] = new
            return _copy(new)

    def update_custom_field(self, object_type, cf_id, **changes):
        """No event: Close's event list has no custom-field events [I]."""
        with self.lock:
            defs = self.cf[object_type]
            for i, d in enumerate(defs):
                if d["id"] == cf_id:
                    now = self._begin()
                    new = dict(d, **{k: v for k, v in changes.items() if k not in ("id", "date_created")})
                    self._stamp(new, now)
                    defs[i] = new
                    return _copy(new)
            raise KeyError(cf_id)

    def add_event(self, **fields):
        """Insert an arbitrary event (e.g. out-of-order or consolidated ones).
        date_created/date_updated may be aware datetimes or strings."""
        with self.lock:
            now = self._begin()
            at = fields.pop("date_updated", None)
            created = fields.pop("date_created", None)
            at_us = now if at is None else (timefmt.to_us(at) if hasattr(at, "tzinfo") else timefmt.parse(at.replace("+00:00", "")))
            created_us = at_us if created is None else (
                timefmt.to_us(created) if hasattr(created, "tzinfo") else timefmt.parse(created.replace("+00:00", "")))
            lead_ids = sorted(self.lead_base)
            lead = self.leads.get(lead_ids[0]) if lead_ids else None
            ev = eventlog.make(
                self.ctx.rng, self.ctx.org_id, object_type="lead",
                object_id=lead["id"] if lead else ids.make(self.ctx.rng, "lead"),
                lead_id=lead["id"] if lead else None, action="updated", at_us=at_us,
                data=lead, previous_data={}, changed_fields=["date_updated"], meta={},
                user_id=self._api_user()["id"], request_id=self._request_id,
                api_key_id=self.api_key_id, created_us=created_us)
            ev.update(fields)
            self.events.put(ev, {"date_updated": at_us})
            return _copy(ev)

    # -- bulk mutations for the control endpoint (deterministic per seed) ----
    def _pick(self, pool, count):
        pool = sorted(pool)
        return self.pick_rng.sample(pool, min(count, len(pool)))

    def mutate(self, action, count=1):
        with self.lock:
            if action == "touch_leads":
                return [self.update_lead(l, description=records.words.sentence(self.ctx.rng))["id"]
                        for l in self._pick(self.lead_base, count)]
            if action == "add_leads":
                return [self.add_lead()["id"] for _ in range(count)]
            if action == "delete_leads":
                return [self.delete_lead(l)[0] for l in self._pick(self.lead_base, count)]
            if action == "add_activities":
                return [self.add_activity(l, self.pick_rng.choice(["Note", "Call", "Email", "SMS"]))["id"]
                        for l in [self._pick(self.lead_base, 1)[0] for _ in range(count)]]
            if action == "update_tasks":
                return [self.update_task(t, is_complete=not self.tasks.get(t)["is_complete"])["id"]
                        for t in self._pick(self.tasks.by_id, count)]
            if action in ("delete_activities", "delete_tasks", "delete_contacts", "delete_opportunities"):
                kind = {"activities": "activity", "tasks": "task", "contacts": "contact",
                        "opportunities": "opportunity"}[action.split("_", 1)[1]]
                return [self.delete_child(kind, rid) for rid in self._pick(self.coll(kind).by_id, count)]
            if action == "update_activities":
                # Only activity types that have a note field get a new note.
                with_note = [a for a, rec in self.activities.by_id.items() if "note" in rec]
                return [self.update_activity(a, note=records.words.sentence(self.ctx.rng))["id"]
                        for a in self._pick(with_note, count)]
            raise ValueError("unknown action %r" % action)

    # -- the offset_shift fault (faults.py, resources._shift_offset) -------------
    def delete_listed(self, kind, rid, object_type=None):
        """Really delete one record of an offset-paged list. Leads and their children go through
        their own mutations (with Close's `deleted` events); users, custom field definitions (of
        `object_type`), lead/opportunity statuses, pipelines and custom activity types leave their
        lists without events (Close's event list has none for them [I]). Returns False, deleting
        nothing, for the API key's own user (/me/ must keep working)."""
        with self.lock:
            ctx = self.ctx
            if kind == "lead":
                self.delete_lead(rid)
            elif kind in CHILD_KINDS:
                self.delete_child(kind, rid)
            elif kind == "user":
                if rid == ctx.api_user["id"]:
                    return False
                self._begin()
                self.users.remove(rid)
                ctx.users_by_id.pop(rid, None)
                ctx.users[:] = [u for u in ctx.users if u["id"] != rid]
            else:
                self.version += 1
                keep = lambda items: [x for x in items if x["id"] != rid]
                if kind == "custom_field":
                    self.cf[object_type] = keep(self.cf[object_type])
                elif kind == "lead_status":
                    ctx.lead_statuses[:] = keep(ctx.lead_statuses)
                elif kind == "opportunity_status":
                    ctx.opp_statuses[:] = keep(ctx.opp_statuses)
                    # a pipeline embeds its statuses; dicts are replaced, never edited (collection.py)
                    ctx.pipelines[:] = [dict(p, statuses=keep(p["statuses"])) for p in ctx.pipelines]
                elif kind == "pipeline":
                    ctx.pipelines[:] = keep(ctx.pipelines)
                elif kind == "custom_activity_type":
                    ctx.custom_activity_types[:] = keep(ctx.custom_activity_types)
                else:
                    raise ValueError("unknown kind %r" % kind)
            return True

    # -- creations for the concurrent writer (writer.py) ------------------------
    def add_contact(self, lead_id, **overrides):
        """A new contact on a lead: a `created` event; the lead's date_updated moves without a
        lead event, like every child change (module docstring)."""
        with self.lock:
            lead = self._lead(lead_id)
            now = self._begin()
            # the domain build_lead_base derived from the name (records.py)
            domain = lead["name"].lower().replace(" ", "").replace(".", "") + ".example.com"
            rec = records.build_contact(self.ctx, lead_id, domain, now, now)
            return _copy(self._add_child("contact", rec, now, overrides))

    def add_opportunity(self, lead_id, **overrides):
        """A new opportunity on a lead (a `created` event, the lead's date_updated moves)."""
        with self.lock:
            lead = self._lead(lead_id)
            now = self._begin()
            rec = records.build_opportunity(self.ctx, lead, lead.get("contacts") or [], now, now)
            return _copy(self._add_child("opportunity", rec, now, overrides))

    def add_user(self, **overrides):
        """A user joining the organization, created now. No event: users have none in Close's
        event list [I] (as update_user)."""
        with self.lock:
            now = self._begin()
            ctx = self.ctx
            api_user = ctx.api_user
            records.build_users(ctx, 1)         # the generated shape; it appends to ctx.users
            ctx.api_user = api_user             # build_users re-points it at users[0]
            user = ctx.users[-1]
            # build_users numbers emails from 0 per call: number this one after every user so far.
            local, _, domain = user["email"].partition("@")
            user["email"] = "%s%d@%s" % (local[:-1], len(ctx.users) - 1, domain)
            user["image"] = "https://secure.gravatar.com/avatar/" + hashlib.md5(user["email"].encode()).hexdigest()
            user["email_verified_at"] = None    # just invited: not verified yet [I]
            user.update({k: v for k, v in overrides.items() if k not in ("id", "date_created", "date_updated")})
            user["date_created"] = user["date_updated"] = timefmt.fmt(now)
            ctx.users_by_id[user["id"]] = user
            self.users.put(user, {"date_created": now, "date_updated": now})
            return _copy(user)

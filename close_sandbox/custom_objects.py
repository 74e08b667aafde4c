"""Close's Custom Objects: the types (`GET /custom_object_type/`), their custom field
definitions (`GET /custom_field/custom_object_type/`) and the instances, which belong to leads
(`GET /custom_object/?lead_id=`; org-wide only through `POST /data/search/` with object type
`custom_object`, served by search.py from `of(sb).instances`).

Sources (tags as in close_sandbox/README.md: C = Close's docs, I = inferred):
- [OAS-T] Close's OpenAPI, List/Get Custom Object Types, with response examples
  (https://developer.close.com/api/resources/custom-object-types/list; copy in api-evangelist/close
  openapi/close-custom-object-types-api-openapi.yml): a type's keys, NAIVE timestamps with true
  microseconds, `fields` and `back_reference_fields` as lists of field metadata.
- [OAS-O] Close's OpenAPI, Custom Objects (https://developer.close.com/api/resources/custom-objects/list):
  "The `lead_id` parameter is required. If you want to retrieve all Custom Object instances
  regardless of the lead, you will need to use Advanced Filtering"; optional
  `custom_object_type_id`; an instance's keys; `custom.{custom_field_id}` values; a PUT setting a
  value to null returns the instance WITHOUT that key; list examples newest first.
- [OAS-F] Close's OpenAPI, Custom Object Custom Fields
  (https://developer.close.com/api/resources/custom-fields/custom-fields-custom-object/list): a
  definition's keys (`custom_object_type_id`, `required`, `referenced_custom_type_id`,
  `back_reference_is_visible`), `+00:00` timestamps in the list, `choices` on choices fields only;
  deleting one removes its values from every instance.
- [CL] Close changelog 2024-02-21 (Custom Objects API, BETA) and 2024-09-09 (types can be
  archived with `is_archived: true`).
- [EVT] Close's list of event types (https://developer.close.com/api/resources/events/list-of-event-types,
  read in a 2026-03-30 scrape of developer.close.com, public file): `custom_object` created /
  updated / deleted.
- [PAGE] Close's pagination and fields pages (close-api.md 3.1, 4.1): `_skip`, `_limit`,
  `_fields` on list endpoints.

Generated lazily, once per Sandbox, by `of(sb)` (under the store lock), from
`random.Random(f"{seed}:custom_objects")`: the main generator's RNG stream, and so every other
id, is untouched. Times are anchored on the main generation's "now", so a frozen clock gives
byte-identical data whenever the first request comes; the instances hang on the leads that
exist at that moment (deterministic for a given seed and sequence of calls, like mutations).
"""
from __future__ import annotations

import json
import random
import weakref
from dataclasses import dataclass, field

from . import eventlog, ids, params as P, timefmt, words
from .collection import Collection

MS = 1000


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    multi: bool = False
    required: bool = False
    description: str | None = None
    choices: tuple = ()
    references: str | None = None          # key of the referenced type (custom_object fields)
    back_reference_visible: bool | None = None


@dataclass(frozen=True)
class TypeSpec:
    key: str
    name: str
    name_plural: str
    description: str | None
    api_create_only: bool
    archived: bool | None                  # None: no `is_archived` key (the 2020 examples' form)
    roles: tuple = ()
    leads_per_instance: int = 0            # one instance per this many leads; 0: none at all
    minimum: int = 0
    fields: tuple = field(default_factory=tuple)


# Three fielded types and one without fields or instances. Account and Resource are Close's own
# examples [OAS-T]; every Close field type occurs, single- and multi-valued choices and custom
# object references included [OAS-T, OAS-F]. `is_archived`: present on some types only, since the
# 2020 examples lack it and the 2024 changelog adds it [OAS-T, CL; I: which ones].
TYPE_SPECS = (
    TypeSpec("account", "Account", "Accounts", "An Account managed by this client.", False, False,
             leads_per_instance=4, minimum=3, fields=(
                 FieldSpec("Account ID", "text", description="ID from the external Account system."),
                 FieldSpec("Point of Contact", "contact", required=True,
                           description="Main point of contact for this account."),
                 FieldSpec("Status", "choices", choices=("Active", "Cancelled", "Potential")),
                 FieldSpec("Seats", "number"),
                 FieldSpec("Renewal Date", "date"),
                 FieldSpec("Last Synced At", "datetime"),
                 FieldSpec("Modules", "choices", multi=True, choices=("CRM", "Calling", "Email", "Reporting")),
                 FieldSpec("Account Manager", "user"),
                 FieldSpec("Notes", "textarea"),
                 FieldSpec("Sync Token", "hidden"),
             )),
    TypeSpec("resource", "Resource", "Resources", "A Resource tracked by an external system.", True, None,
             leads_per_instance=8, minimum=2, fields=(
                 FieldSpec("Linked Accounts", "custom_object", multi=True, required=True,
                           description="Account objects using this Resource.", references="account",
                           back_reference_visible=True),
                 FieldSpec("External Ref", "text"),
             )),
    TypeSpec("onboarding", "Onboarding Checklist", "Onboarding Checklists", None, False, True, roles=("admin",),
             leads_per_instance=10, minimum=2, fields=(
                 FieldSpec("Wants Marketing Materials", "choices", choices=("No", "Yes")),
                 FieldSpec("Kickoff At", "datetime"),
                 FieldSpec("Primary Account", "custom_object", references="account", back_reference_visible=False),
             )),
    TypeSpec("legacy", "Legacy Asset", "Legacy Assets", "Set up, not used yet.", False, False),
)
# Share of a non-required field's values that are set, and that are an explicit null. Close drops
# a key whose value is set to null [OAS-O, PUT example]; whether null is ever served is not
# documented, so some instances carry an explicit null too [I].
VALUE_SHARE, NULL_SHARE = 0.6, 0.12
# Keys of one entry of a type's `fields`/`back_reference_fields` [OAS-T]: `choices` only on choices
# fields, the reference keys only on custom_object fields.
TYPE_FIELD_KEYS = ("accepts_multiple_values", "description", "editable_with_roles", "id", "name",
                   "required", "type")
REFERENCE_KEYS = ("back_reference_is_visible", "referenced_custom_type_id")
# What a PUT may change [OAS-O: "add, change or remove any Custom Fields, and ... the name"].
UPDATABLE = ("name",)


def _short_id(rng, prefix):
    """Type ids have a 22-character suffix (`cotype_1h5m6uHM9BZOpwVhyRJb4Y` [OAS-T])."""
    return ids.make(rng, prefix)[:len(prefix) + 1 + 22]


def _copy(obj):
    return json.loads(json.dumps(obj))


class CustomObjects:
    """One organization's custom object types, their field definitions and instances."""

    def __init__(self, sb):
        store = sb.store
        ctx = store.ctx
        self._store = store
        self._rng = random.Random("%s:custom_objects" % sb.seed)
        # Mutations draw from their own stream: deterministic for a sequence of calls [I].
        self._mutation_rng = random.Random("%s:custom_object_mutations" % sb.seed)
        # The main generation's "now" (context.py: start_us = now_us - days).
        self._anchor = ctx.start_us + max(ctx.days, 1) * timefmt.DAY
        self._span = self._anchor - ctx.start_us
        self._windows = list(ctx.windows)      # cluster windows stay free (generator.py)
        self._org_id = ctx.org_id
        self._users = [u["id"] for u in ctx.users]
        self.types, self.definitions = self._build_types()
        self.instances = Collection("custom_object")
        self.instances.load(self._build_instances())
        self._leads_version = store.leads.version

    # -- generation -----------------------------------------------------------------
    def _ms(self, lo, hi):
        """A ms instant in [lo, hi] outside the cluster windows (as context.Ctx.rand_time)."""
        for _ in range(20):
            us = timefmt.floor_ms(lo + int(self._rng.random() * max(hi - lo, 0)))
            if not any(a <= us < b for a, b in self._windows):
                return us
        return us

    def _build_types(self):
        rng, ancient = self._rng, self._anchor - self._span - 450 * timefmt.DAY
        types, definitions, type_ids = [], [], {}
        for spec in TYPE_SPECS:
            type_ids[spec.key] = _short_id(rng, "cotype")
        for spec in TYPE_SPECS:
            # Naive, with true microseconds [OAS-T].
            created = ancient + rng.randint(0, 30) * timefmt.DAY + rng.randint(0, timefmt.DAY)
            updated = self._ms(self._anchor - 10 * timefmt.DAY, self._anchor - timefmt.MINUTE) \
                + rng.randint(1, 999) if rng.random() < 0.5 else created
            author = rng.choice(self._users)
            record = {
                "id": type_ids[spec.key], "name": spec.name, "name_plural": spec.name_plural,
                "description": spec.description, "api_create_only": spec.api_create_only,
                "editable_with_roles": list(spec.roles), "fields": [], "back_reference_fields": [],
                "organization_id": self._org_id, "created_by": author, "updated_by": author,
                "date_created": timefmt.fmt_naive(created), "date_updated": timefmt.fmt_naive(updated),
            }
            if spec.archived is not None:
                record["is_archived"] = spec.archived
            types.append(record)
            for field_spec in spec.fields:
                # Fields are added after their type ("The type must be created before Custom
                # Fields can be added" [OAS-T, create]).
                definitions.append(self._definition(record, field_spec, created, type_ids))
        refresh_type_fields(types, definitions)
        return types, definitions

    def _definition(self, type_record, spec, type_created, type_ids):
        rng = self._rng
        created = timefmt.floor_ms(type_created + rng.randint(timefmt.SECOND, 20 * timefmt.DAY))
        updated = self._ms(self._anchor - 10 * timefmt.DAY, self._anchor - timefmt.MINUTE) \
            if rng.random() < 0.2 else created
        author = rng.choice(self._users)
        record = {
            "id": ids.make(rng, "cf"), "name": spec.name, "description": spec.description, "type": spec.type,
            "accepts_multiple_values": spec.multi, "required": spec.required, "editable_with_roles": [],
            "custom_object_type_id": type_record["id"],
            "referenced_custom_type_id": type_ids[spec.references] if spec.references else None,
            "back_reference_is_visible": spec.back_reference_visible,
            "organization_id": self._org_id, "created_by": author, "updated_by": author,
            "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
        }
        if spec.type == "choices":
            record["choices"] = list(spec.choices)
        return record

    def _build_instances(self):
        store, rng = self._store, self._rng
        leads = [rid for _, rid in store.leads.index["date_created"]]
        if not leads:
            return []
        busy = rng.choice(leads)        # one lead with several instances: paging within a lead
        built = []
        for spec, type_record in zip(TYPE_SPECS, self.types):
            if not spec.leads_per_instance:
                continue
            count = max(spec.minimum, len(leads) // spec.leads_per_instance)
            for k in range(count):
                lead_id = busy if k < (2 if spec.key == "account" else 1) else rng.choice(leads)
                built.append(self._instance(type_record, spec, lead_id, k, built))
        self._bursts(built)
        return built

    def _instance(self, type_record, spec, lead_id, k, built):
        store, rng = self._store, self._rng
        lead_created = store.leads.times[lead_id]["date_created"]
        created = self._ms(lead_created, self._anchor - 10 * timefmt.MINUTE)
        updated = created if rng.random() < 0.45 else self._ms(created, self._anchor - timefmt.MINUTE)
        author = rng.choice(self._users)
        company = store.leads.by_id[lead_id]["display_name"]
        name = {"account": "%s Account" % company, "resource": "Resource %d" % (k + 1),
                "onboarding": "Onboarding %s" % company}[spec.key]
        record = {"id": ids.make(rng, "custobj"), "name": name, "lead_id": lead_id,
                  "custom_object_type_id": type_record["id"], "organization_id": self._org_id,
                  "created_by": author, "updated_by": author if updated == created else rng.choice(self._users),
                  "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated)}
        contacts = store.children.get(lead_id, {}).get("contact", [])
        accounts = [r["id"] for r, _ in built if r["custom_object_type_id"] == self.types[0]["id"]]
        for definition in self.definitions:
            if definition["custom_object_type_id"] != type_record["id"]:
                continue
            roll = rng.random()
            if definition["required"] or roll < VALUE_SHARE:
                value = self._value(definition, contacts, accounts)
                if value is not None:
                    record["custom." + definition["id"]] = value
            elif roll < VALUE_SHARE + NULL_SHARE:
                record["custom." + definition["id"]] = None
        return record, {"date_created": created, "date_updated": updated}

    def _value(self, definition, contacts, accounts):
        rng, kind = self._rng, definition["type"]
        if kind == "text":
            return "%s-%d" % (rng.choice(words.WORDS), rng.randint(1, 9999))
        if kind == "textarea":
            return words.paragraph(rng, 2)
        if kind == "number":
            return rng.randint(1, 500) if rng.random() < 0.8 else round(rng.uniform(0, 100), 2)
        if kind == "date":
            return timefmt.fmt_date(self._ms(self._anchor - self._span, self._anchor + 300 * timefmt.DAY))
        if kind == "datetime":
            return timefmt.fmt(self._ms(self._anchor - self._span, self._anchor))
        if kind == "choices":
            if definition["accepts_multiple_values"]:
                return rng.sample(definition["choices"], rng.randint(1, 3))
            return rng.choice(definition["choices"])
        if kind == "user":
            return rng.choice(self._users)
        if kind == "contact":
            return rng.choice(contacts) if contacts else None
        if kind == "hidden":
            return "".join(rng.choices("0123456789abcdef", k=16))
        if kind == "custom_object":
            if not accounts:
                return None
            if definition["accepts_multiple_values"]:
                return rng.sample(accounts, min(len(accounts), rng.randint(1, 2)))
            return rng.choice(accounts)
        raise ValueError(kind)

    def _bursts(self, built):
        """Bulk edits: a group of instances updated within one second, several at the same
        millisecond, once long ago and once a few hours ago [I: bulk edits stamp alike]."""
        rng = self._rng
        for back in (self._span * 2 // 5, 3 * timefmt.HOUR):
            at = self._anchor - back
            at -= at % timefmt.SECOND
            while any(a - timefmt.SECOND <= at < b for a, b in self._windows):
                at -= timefmt.DAY
            older = [i for i, (_, times) in enumerate(built) if times["date_created"] < at]
            editor = rng.choice(self._users)
            for i in rng.sample(older, min(len(older), max(3, len(built) // 8))):
                record, times = built[i]
                stamp = at + rng.choice((0, 0, 0, 1, 250, 250, 999)) * MS
                times["date_updated"] = stamp
                record["date_updated"] = timefmt.fmt(stamp)
                record["updated_by"] = editor

    # -- reading ----------------------------------------------------------------------
    def drop_orphans(self):
        """Instances belong to a lead: once it is gone they are no longer served [I: Close's docs
        create them "on Leads" [OAS-O]; store.delete_lead is not this module's, so their
        `deleted` events are not modelled]. Call with the store lock held."""
        leads = self._store.leads
        if leads.version == self._leads_version:
            return
        self._leads_version = leads.version
        for rid in [rid for rid, rec in self.instances.by_id.items() if rec["lead_id"] not in leads.by_id]:
            self.instances.remove(rid)

    def field_types(self):
        """{custom field id: Close type} of every custom object custom field (search.py)."""
        return {d["id"]: d["type"] for d in self.definitions}

    def type_of(self, type_id):
        return next((t for t in self.types if t["id"] == type_id), None)

    def of_lead(self, lead_id, type_id=None):
        """A lead's instances, newest first (the order of Close's list example [OAS-O])."""
        rows = [(self.instances.times[rid]["date_created"], rid) for rid, rec in self.instances.by_id.items()
                if rec["lead_id"] == lead_id and (type_id is None or rec["custom_object_type_id"] == type_id)]
        return [self.instances.by_id[rid] for _, rid in sorted(rows, reverse=True)]

    def records(self):
        """Every instance as served (deep copies), oldest first."""
        with self._store.lock:
            self.drop_orphans()
            return _copy([self.instances.by_id[rid] for _, rid in self.instances.index["date_created"]])

    # -- mutations (stamped with the sandbox clock, each with its event [EVT]) ----------
    def add(self, lead_id, custom_object_type_id, name, **custom):
        with self._store.lock:
            self.drop_orphans()
            if lead_id not in self._store.leads.by_id:
                raise KeyError("no lead %r" % lead_id)
            if self.type_of(custom_object_type_id) is None:
                raise KeyError("no custom object type %r" % custom_object_type_id)
            now = timefmt.floor_ms(self._store.now_us())
            user = self._store.ctx.api_user["id"]
            record = {"id": ids.make(self._mutation_rng, "custobj"), "name": name, "lead_id": lead_id,
                      "custom_object_type_id": custom_object_type_id, "organization_id": self._org_id,
                      "created_by": user, "updated_by": user,
                      "date_created": timefmt.fmt(now), "date_updated": timefmt.fmt(now)}
            record.update(self._custom_values(custom_object_type_id, custom))
            self.instances.put(record, {"date_created": now, "date_updated": now})
            self._event(record, "created", now, record, {}, [])
            return _copy(record)

    def update(self, instance_id, **changes):
        """`name` and `custom.cf_…` values; None removes a value (its key is gone [OAS-O])."""
        with self._store.lock:
            self.drop_orphans()
            old = self.instances.get(instance_id)
            if old is None:
                raise KeyError("no custom object %r" % instance_id)
            new = dict(old)
            plain = {k: v for k, v in changes.items() if not k.startswith("custom.")}
            if set(plain) - set(UPDATABLE):
                raise ValueError("only %s and custom.cf_… values can change" % ", ".join(UPDATABLE))
            new.update(plain)
            for key, value in self._custom_values(old["custom_object_type_id"], changes).items():
                if value is None:
                    new.pop(key, None)
                else:
                    new[key] = value
            now = timefmt.floor_ms(self._store.now_us())
            new["date_updated"] = timefmt.fmt(now)
            new["updated_by"] = self._store.ctx.api_user["id"]
            changed = sorted({k for k in set(new) | set(old) if new.get(k) != old.get(k)} | {"date_updated"})
            self.instances.put(new, dict(self.instances.times[instance_id], date_updated=now))
            self._event(new, "updated", now, new, {k: old.get(k) for k in changed}, changed)
            return _copy(new)

    def delete(self, instance_id):
        with self._store.lock:
            self.drop_orphans()
            record = self.instances.remove(instance_id)
            if record is None:
                raise KeyError("no custom object %r" % instance_id)
            now = timefmt.floor_ms(self._store.now_us())
            # A deleted event: data null, previous_data the last snapshot (as the store's [I]).
            self._event(record, "deleted", now, None, record, [])
            return instance_id

    def _custom_values(self, type_id, values):
        allowed = {d["id"] for d in self.definitions if d["custom_object_type_id"] == type_id}
        out = {}
        for key, value in values.items():
            if not key.startswith("custom."):
                continue
            if key[len("custom."):] not in allowed:
                raise ValueError("%s is not a custom field of %s" % (key, type_id))
            out[key] = value
        return out

    def _event(self, record, action, now, data, previous, changed):
        method = {"created": "POST", "updated": "PUT", "deleted": "DELETE"}[action]
        path = "/api/v1/custom_object/" + ("" if action == "created" else record["id"] + "/")
        event = eventlog.make(
            self._mutation_rng, self._org_id, object_type="custom_object", object_id=record["id"],
            lead_id=record["lead_id"], action=action, at_us=now, data=data, previous_data=previous,
            changed_fields=changed, meta={"request_path": path, "request_method": method},
            user_id=self._store.ctx.api_user["id"], request_id=ids.make(self._mutation_rng, "req"),
            api_key_id=self._store.api_key_id)
        self._store.events.put(event, {"date_updated": now})

    # -- the offset_shift fault: really delete one listed item (faults.py) ----------------
    def delete_type(self, type_id):
        """A type leaves the list with its definitions and instances (no events, as the other
        configuration lists [I])."""
        self.types[:] = [t for t in self.types if t["id"] != type_id]
        for definition in [d for d in self.definitions if d["custom_object_type_id"] == type_id]:
            self.delete_definition(definition["id"])
        for rid in [rid for rid, rec in self.instances.by_id.items() if rec["custom_object_type_id"] == type_id]:
            self.instances.remove(rid)
        return True

    def delete_definition(self, cf_id):
        """Its values leave every instance ("values on existing custom object instances will be
        permanently removed" [OAS-F])."""
        self.definitions[:] = [d for d in self.definitions if d["id"] != cf_id]
        refresh_type_fields(self.types, self.definitions)
        key = "custom." + cf_id
        for rid, rec in list(self.instances.by_id.items()):
            if key in rec:     # records are replaced, never edited (collection.py)
                self.instances.put({k: v for k, v in rec.items() if k != key}, self.instances.times[rid])
        return True


def type_field(definition):
    """One entry of a type's `fields` or `back_reference_fields`: "most Custom Field metadata"
    [OAS-T], i.e. the definition under the example's keys."""
    out = {k: definition[k] for k in TYPE_FIELD_KEYS}
    if definition["type"] == "choices":
        out["choices"] = list(definition["choices"])
    if definition["type"] == "custom_object":
        out.update({k: definition[k] for k in REFERENCE_KEYS})
    return out


def refresh_type_fields(types, definitions):
    """(Re)build each type's `fields` (its own definitions) and `back_reference_fields` (the
    custom_object fields of any type that reference it [OAS-T: Account's back reference is
    Resource's "Linked Accounts"]). Types are replaced in place, never edited."""
    for i, record in enumerate(types):
        own = [type_field(d) for d in definitions if d["custom_object_type_id"] == record["id"]]
        back = [type_field(d) for d in definitions
                if d["type"] == "custom_object" and d["referenced_custom_type_id"] == record["id"]]
        types[i] = dict(record, fields=own, back_reference_fields=back)


# Store -> its CustomObjects, made on first use; gone with the store.
_BY_STORE = weakref.WeakKeyDictionary()


def of(sb):
    """The organization's custom objects, generated on first use (thread-safe: under the store
    lock, which every reader and mutation of them holds too)."""
    store = sb.store
    with store.lock:
        found = _BY_STORE.get(store)
        if found is None:
            found = _BY_STORE[store] = CustomObjects(sb)
        found.drop_orphans()
    return found


# -- HTTP handlers (resources.route) ------------------------------------------------------
def types_(sb, params, rid=None):
    """GET /custom_object_type/ (oldest first, as the example [OAS-T]) and /{id}/."""
    objects = of(sb)
    if rid:
        with sb.store.lock:
            found = objects.type_of(rid)
        if found is None:
            P.not_found("CustomObjectType")
        return P.trim(found, P.fields(params))
    return _list(sb, "custom_object_type", params,
                        lambda: sorted(objects.types, key=lambda t: (t["date_created"], t["id"])),
                        objects.delete_type)


def instances_(sb, params, rid=None):
    """GET /custom_object/?lead_id=[&custom_object_type_id=] and /{id}/. Without lead_id: 400
    [OAS-O: "The `lead_id` parameter is required"], in Close's validation shape (close-api.md 7;
    I: the message). Other parameters than these and paging are ignored [I]."""
    objects = of(sb)
    if rid:
        with sb.store.lock:
            found = objects.instances.get(rid)
        if found is None:
            P.not_found("CustomObject")
        return P.trim(found, P.fields(params))
    lead_id = params.get("lead_id")
    if not lead_id:
        message = "This field is required."
        raise P.ApiError(400, body={"error": "lead_id: " + message, "errors": [], "field-errors": {"lead_id": message}})
    type_id = params.get("custom_object_type_id") or None
    return _list(sb, "custom_object", params, lambda: objects.of_lead(lead_id, type_id), objects.delete)


def field_definitions(sb, params, rid=None):
    """GET /custom_field/custom_object_type/ (newest first, as the example [OAS-F]) and /{id}/."""
    objects = of(sb)
    if rid:
        with sb.store.lock:
            found = next((d for d in objects.definitions if d["id"] == rid), None)
        if found is None:
            P.not_found("CustomObjectCustomField")
        return P.trim(found, P.fields(params))
    return _list(sb, "custom_field", params,
                        lambda: sorted(objects.definitions, key=lambda d: (d["date_created"], d["id"]), reverse=True),
                        objects.delete_definition)


def _list(sb, group, params, load, delete):
    """An offset-paged list with the sandbox's list faults (resources._static_list)."""
    from .resources import _static_list   # resources routes here: import at call time
    return _static_list(sb, group, params, load, delete)


# First path segment -> handler (resources.route); the definitions are routed there too.
ROUTES = {"custom_object_type": types_, "custom_object": instances_}

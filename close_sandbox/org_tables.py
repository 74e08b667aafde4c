"""Organization tables: email and SMS templates, roles, groups, smart views (saved searches)
and phone numbers, each a small list generated once per sandbox and served with Close's
envelope `{"has_more": bool, "data": [...]}`.

Sources (close_sandbox/README.md convention): C = Close's docs: developer.close.com/api/resources/
<email-templates|sms-templates|roles|groups|smart-views|phone-numbers|memberships> and their OpenAPI
("OAS", copied from api.close.com/api/openapi.json in github.com/api-evangelist/close at 08451fdc,
openapi/close-<resource>-api-openapi.yml); ABR = Airbyte's recorded real Close records
(airbytehq/airbyte source-close-com integration_tests/expected_records.jsonl at 0df01ee1, 2023);
I = inferred.

| behaviour | status |
|---|---|
| `GET /email_template/` takes `_limit`, `_skip`, `is_archived`, `is_shared`; `/{id}/` adds `used_by_sequences` | C (OAS) |
| Without `is_archived` the list leaves archived templates out (ask `is_archived=true` for them) | I: the sources are silent; the stricter guess, so a client that does not ask both values misses them |
| `GET /sms_template/` takes `_limit`, `_skip` only and lists every `status`; `/{id}/?include_attachments=true` adds `attachments` | C (OAS params), I (every status listed) |
| SMS templates carry naive timestamps with microseconds; email templates, custom roles, smart views and phone numbers `+00:00` ones (one smart view and one number naive, as in Close's POST examples) | C (OAS examples, ABR) |
| `GET /role/` and `GET /group/` document no paging: `_skip`/`_limit` are ignored, the whole list comes in one page | C (OAS lists no parameter; groups `_fields` only), I (ignored rather than 400) |
| Built-in roles `admin`, `superuser`, `user`, `restricteduser`: plain ids, `editable: false`, dates `0001-01-01T00:00:00`; without the `visibility_user_lcf_*` keys (ABR) or with them null (OAS Admin example); custom roles `role_…`, some without dates and `organization_id` (OAS examples carry neither) | C (OAS, memberships OAS role_id), ABR |
| `GET /group/` items are `{id, name, organization_id}`, no `members`: only `GET /group/{id}/` carries `members: [{user_id}]` | C (OAS: "list endpoint does not support retrieving members") |
| Group ids `group_` + 22 characters, SMS template ids `smstmpl_` + 22 | C (OAS examples), ABR |
| `GET /saved_search/` takes `type` (default `lead`) and `type__in` (comma-separated); a value outside Close's `SavedSearchType` enum gets 400; `type` and `type__in` together both apply | C (docs: "Defaults to lead"; OAS enum), I (the 400, both applying) |
| Smart views of types beyond lead and contact (opportunity, call) exist | C (OAS `SavedSearchType` enum), I (that an account has them) |
| Smart view keys: legacy `query` string with `s_query` null (ABR, OAS "All Leads" with `user_id` null) or `s_query` with `query` null; `description`, `selected_fields`, `shared_with`, `sharing_settings` absent (ABR 2022), null or set (OAS); `used_recently` only on `/{id}/` | C (OAS), ABR |
| `GET /phone_number/` takes `_limit`, `_skip`, `_fields`, `number`, `user_id`, `is_group_number`, `participant_user_id` | C (OAS) |
| Phone numbers: personal (`user_id` set), group (`user_id` null, `participants`), `external` and `virtual` types; `was_ported`, `inbound_ring_duration`, `participants`, `phone_numbers(_formatted)` absent on some records, `label` null on one, a naive timestamp on one | C (OAS examples and schema) |
| `_fields` trims every list and object | C (fields page, close-api.md 3.1) |
| Boolean filters take `true`/`false` (`1`/`0`), any case; anything else 400 | I |
| List order: creation order | I |
| `GET /membership/` is not served: Close documents no membership list (only POST, PUT, `/{id}/` PUT/DELETE, `/{id}/pinned_views/`) | C (memberships OAS) |
| The `deleted_404` and `offset_shift` faults apply to the paged lists (`offset_shift` really removes the item) | I (as every offset list) |

Private templates and smart views (`is_shared: false`) belong to the API key's user: another
user's private ones would be invisible to the key, so none are generated [I].
"""
import copy
import random
import threading
import weakref

from . import ids, params as P, timefmt, words

YEAR_ONE = "0001-01-01T00:00:00"     # built-in roles' dates [ABR]
# Close's SavedSearchType enum [C: smart views OAS].
SAVED_SEARCH_TYPES = ("lead", "contact", "opportunity", "call", "email", "sms", "meeting", "note",
                      "whatsapp_message", "custom_activity", "form_submission")
MODELS = {"email_template": "EmailTemplate", "sms_template": "SMSTemplate", "role": "Role",
          "group": "Group", "saved_search": "SavedSearch", "phone_number": "PhoneNumber"}   # 404 texts [I]
ORG_EPOCH_DAYS = 450     # the organization's tables are set up up to this long before the data span [I]

_registry = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def of(sb):
    """The sandbox's organization tables, generated on first use from its seed."""
    with _registry_lock:
        tables = _registry.get(sb)
        if tables is None:
            tables = _registry[sb] = OrgTables(sb.store.ctx, sb.seed)
        return tables


def _short_id(rng, prefix):
    """Close's 22-character ids (group_, smstmpl_) [C: OAS examples, ABR]."""
    return prefix + "_" + "".join(rng.choice(ids.B62) for _ in range(22))


class _Clock:
    """Generation times from this module's own RNG, anchored where the organization's data
    was generated (ctx.start_us does not move with later mutations, unlike ctx.now_us)."""

    def __init__(self, rng, ctx):
        self.rng = rng
        self.now = ctx.start_us + max(ctx.days, 1) * timefmt.DAY
        self.setup = ctx.start_us - ORG_EPOCH_DAYS * timefmt.DAY

    def between(self, lo, hi):
        us = timefmt.floor_ms(lo + int(self.rng.random() * (hi - lo)))
        # about 1 in 6 on a whole second, so Close's fraction-less form also occurs [close-api.md 8]
        return us - us % timefmt.SECOND if self.rng.random() < 1 / 6 else us

    def created_updated(self):
        created = self.between(self.setup, self.now - timefmt.DAY)
        updated = created if self.rng.random() < 0.4 else self.between(created, self.now)
        return created, updated


def _naive_micro(clock, us):
    """SMS templates' and some smart views' form: naive, true microseconds [C: OAS examples]."""
    return timefmt.fmt_naive(us + clock.rng.randint(1, 999))


class OrgTables:
    """Every table as its list serves it (before `_fields`), in creation order, plus what only
    the single-object GETs add (group members, SMS template attachments)."""

    def __init__(self, ctx, seed):
        rng = random.Random("%s:org_tables" % seed)
        clock = _Clock(rng, ctx)
        self.lock = threading.Lock()
        self.members = {}            # group id -> [user ids]
        self.sms_attachments = {}    # sms template id -> [attachment]
        users = [u["id"] for u in ctx.users]
        me = ctx.api_user["id"]
        groups = _groups(rng, ctx, users, self.members)
        self.items = {
            "email_template": _email_templates(rng, clock, ctx, users, me),
            "sms_template": _sms_templates(rng, clock, ctx, users, me, self.sms_attachments),
            "role": _roles(rng, clock, ctx),
            "group": groups,
            "saved_search": _smart_views(rng, clock, ctx, users, me, [g["id"] for g in groups]),
            "phone_number": _phone_numbers(rng, clock, ctx, users),
        }

    def records(self, kind):
        """Deep copies of every item of `kind`, as its list serves them (all of them, whatever
        the default filters hide)."""
        with self.lock:
            return copy.deepcopy(self.items[kind])

    def snapshot(self, kind):
        with self.lock:
            return list(self.items[kind])

    def remove(self, kind, rid):
        """Really delete one item (the offset_shift fault). True when it existed."""
        with self.lock:
            before = len(self.items[kind])
            self.items[kind] = [item for item in self.items[kind] if item["id"] != rid]
            return len(self.items[kind]) < before


# -- generation -------------------------------------------------------------------------------
EMAIL_TEMPLATE_NAMES = ["Email 1 - Intro", "Email 2 - Follow-up #1", "Cold 1", "Demo recap", "Pricing",
                        "Breakup", "Re-engage", "Welcome aboard", "Renewal reminder", "Case study",
                        "Referral ask"]


def _email_templates(rng, clock, ctx, users, me):
    """Keys of Close's list example and ABR's records (no `used_by_sequences`: the list has none).
    At least one archived, one private and one with attachments [C: OAS POST response shape]."""
    out = []
    for i, name in enumerate(EMAIL_TEMPLATE_NAMES):
        created, updated = clock.created_updated()
        shared = i != 2 and rng.random() < 0.8
        author = rng.choice(users) if shared else me
        tid = ids.make(rng, "tmpl")
        attachments = []
        if i == 1 or rng.random() < 0.25:
            for _ in range(rng.randint(1, 2)):
                filename = rng.choice(["pricing.pdf", "one-pager.pdf", "logo.png", "case-study.pdf"])
                attachments.append({
                    "content_id": None if rng.random() < 0.7 else "ii_%d" % rng.randint(10 ** 8, 10 ** 9),
                    "content_type": "image/png" if filename.endswith(".png") else "application/pdf",
                    "filename": filename, "inline_only": rng.random() < 0.2,
                    "size": rng.randint(2_000, 2_000_000),
                    "url": "https://app.close.com/go/file/persisted/%s/email_template/%s/%s/%s/"
                           % (ctx.org_id, tid, _short_id(rng, "file")[5:], filename)})
        out.append({
            "id": tid, "name": name, "organization_id": ctx.org_id,
            "subject": "{{ organization.name }} + {{ lead.display_name }}: " + words.sentence(rng, 2, 4),
            "body": "Hi {{ contact.first_name }},<br><br>" + words.paragraph(rng, 2) + "<br>",
            "is_shared": shared, "is_archived": i in (4, 7) or (i > 7 and rng.random() < 0.2),
            "attachments": attachments, "created_by": author,
            "updated_by": author if rng.random() < 0.6 else rng.choice(users),
            "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated)})
    return out


def _sms_templates(rng, clock, ctx, users, me, attachments_by_id):
    """Keys of Close's OAS examples; one template on a whole second (naive, no fraction)."""
    out = []
    for i, name in enumerate(["Cold 1", "Reminder", "Missed you", "Meeting link", "Thanks", "Old promo"]):
        created, updated = clock.created_updated()
        shared = i != 1 and rng.random() < 0.7
        owner = rng.choice(users) if shared else me
        tid = _short_id(rng, "smstmpl")
        if i in (0, 3):
            attachments_by_id[tid] = [{"content_type": "image/png", "filename": "card-%d.png" % i,
                                       "url": "https://app.close.com/go/file/persisted/%s/sms_template/%s/card-%d.png/"
                                              % (ctx.org_id, tid, i)}]
        created_text = timefmt.fmt_naive(created - created % timefmt.SECOND) if i == 2 else _naive_micro(clock, created)
        out.append({
            "id": tid, "name": name, "organization_id": ctx.org_id,
            "text": "Hey {{ contact.first_name }}, " + words.sentence(rng).lower(),
            "is_shared": shared, "status": "archived" if i == 5 or rng.random() < 0.15 else "active",
            "owned_by": owner, "created_by": owner, "updated_by": rng.choice([owner, rng.choice(users)]),
            "date_created": created_text,
            "date_updated": created_text if updated == created else _naive_micro(clock, updated)})
    return out


_USER_PERMISSIONS = ["bulk_email", "bulk_import", "bulk_sequence_subscriptions", "calling", "delete_leads",
                     "delete_own_activities", "delete_own_opportunities", "delete_own_tasks",
                     "manage_others_activities", "manage_others_opportunities", "manage_others_tasks",
                     "merge_leads", "view_all_leads"]     # [C: memberships OAS, role `user`]
_SUPERUSER_PERMISSIONS = sorted(set(_USER_PERMISSIONS) | {
    "bulk_delete", "bulk_edit", "call_coach_barge", "call_coach_listen", "export", "manage_customizations",
    "manage_email_sequences", "manage_group_numbers", "manage_team_email_templates",
    "manage_team_smart_views"})                            # [ABR superuser]
BUILT_IN_ROLES = [   # (id, name, permissions, visibility keys present) [ABR; OAS Admin example]
    ("admin", "Admin", sorted(_SUPERUSER_PERMISSIONS + ["manage_organization"]), True),
    ("superuser", "Super User", _SUPERUSER_PERMISSIONS, False),
    ("user", "User", _USER_PERMISSIONS, False),
    ("restricteduser", "Restricted User", ["delete_own_activities", "delete_own_opportunities",
                                           "delete_own_tasks", "calling", "view_all_leads"], False),
]


def _roles(rng, clock, ctx):
    out = []
    for rid, name, permissions, with_visibility in BUILT_IN_ROLES:
        role = {"id": rid, "name": name, "editable": False, "permissions": list(permissions),
                "organization_id": ctx.org_id, "date_created": YEAR_ONE, "date_updated": YEAR_ONE}
        if with_visibility:
            role.update(visibility_user_lcf_behavior=None, visibility_user_lcf_ids=None)
        out.append(role)
    # Lead visibility rules name lead custom fields of type user [C: roles OAS POST description].
    owner_fields = [d["id"] for d in ctx.custom_fields.get("lead", []) if d["type"] == "user"]
    for name, permissions, behavior, dated in (
            ("Account Manager", ["bulk_edit", "export", "calling"], "require_assignment", True),
            ("SDR", ["calling", "bulk_email", "view_all_leads"], None, True),
            ("Contractor", ["calling"], "allow_unassigned", False)):
        created, updated = clock.created_updated()
        role = {"id": ids.make(rng, "role"), "name": name, "editable": True, "permissions": permissions,
                # Empty when the role sees every lead [C: roles OAS]
                "visibility_user_lcf_behavior": behavior,
                "visibility_user_lcf_ids": list(owner_fields) if behavior else None}
        if dated:
            role.update(organization_id=ctx.org_id, date_created=timefmt.fmt(created),
                        date_updated=timefmt.fmt(updated))
        out.append(role)
    return out


def _groups(rng, ctx, users, members):
    out = []
    for name in ("Sales", "Support", "SDR Team", "Onboarding (empty)"):
        gid = _short_id(rng, "group")
        members[gid] = [] if name.endswith("(empty)") else sorted(rng.sample(users, rng.randint(1, len(users))))
        out.append({"id": gid, "name": name, "organization_id": ctx.org_id})
    return out


def _s_query(view_type, condition):
    """An Advanced Filtering tree as Close stores it in `s_query` [ABR smart_views; OAS examples]:
    everything of the type (`match_all`) or one text condition on one field."""
    if condition is None:
        return {"query": {"negate": False, "type": "match_all"}, "results_limit": None, "sort": []}
    field_name, value = condition
    search_type = view_type if view_type in ("lead", "contact", "opportunity") else "activity." + view_type
    return {"query": {"negate": False, "type": "and", "queries": [
        {"negate": False, "type": "object_type", "object_type": search_type},
        {"negate": False, "type": "field_condition",
         "field": {"type": "regular_field", "object_type": search_type, "field_name": field_name},
         "condition": {"type": "text", "mode": "full_words", "value": value}}]},
        "results_limit": None, "sort": []}


# (name, type, legacy `query` string or the s_query condition (field, value) or None, shared),
# in creation order; the first three are the real records' forms [OAS "All Leads", ABR].
SMART_VIEW_SPECS = [
    ("All Leads", "lead", "*", True),
    ("\u260e\ufe0f Leads to Call", "lead", "has:phone_numbers opportunities:0 calls:0 tasks:0", True),
    ("\U0001f4e3 Untouched Leads", "lead", "times_communicated:0 notes:0 tasks:0 opportunities:0", True),
    ("My Leads", "lead", ("display_name", "me"), False),
    ("Bluth leads", "lead", ("display_name", "Bluth Company"), True),
    ("Created today", "lead", ("description", "today"), False),
    ("All Contacts", "contact", None, True),
    ("CEOs", "contact", ("title", "CEO"), True),
    ("Champions", "contact", ("title", "Champion"), False),
    ("Big deals", "opportunity", ("note", "enterprise"), True),
    ("Missed calls", "call", ("disposition", "no-answer"), True),
]


def _smart_views(rng, clock, ctx, users, me, group_ids):
    out = []
    for i, (name, view_type, query, shared) in enumerate(SMART_VIEW_SPECS):
        created, updated = clock.created_updated()
        legacy = query if isinstance(query, str) else None
        view = {"id": ids.make(rng, "save"), "name": name, "type": view_type, "organization_id": ctx.org_id,
                "is_shared": shared, "is_user_dependent": name == "My Leads",
                # The system "All Leads" view has no user [C: OAS GET example]
                "user_id": None if i == 0 else (rng.choice(users) if shared else me),
                "query": legacy, "s_query": None if legacy else _s_query(view_type, query),
                "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated)}
        if i not in (1, 2):       # 1, 2: the 2022 real form, without any of the later keys [ABR]
            view["description"] = ("", None, words.sentence(rng))[i % 3]       # [C: OAS string | null]
            _sharing(rng, view, i, users, me, group_ids, created)
        if i == 7:
            view["is_user_dependent"] = None                       # [C: OAS bool | null]
            view["date_created"] = view["date_updated"] = _naive_micro(clock, created)   # [C: OAS example]
        out.append(view)
    return out


def _sharing(rng, view, i, users, me, group_ids, created):
    """`selected_fields`, `shared_with`, `sharing_settings`: absent, null or set [C: OAS, default null]."""
    form = (i + 1) % 3
    if form == 0:
        return
    if form == 1:
        view.update(selected_fields=None, shared_with=None, sharing_settings=None)
        return
    view["selected_fields"] = [{"type": "regular_field", "object_type": view["type"], "field_name": name}
                               for name in ("name", "date_created")]        # item shape [I]
    view["shared_with"] = sorted(rng.sample(users, min(2, len(users)))) if view["is_shared"] else []
    view["sharing_settings"] = {
        "created_at": timefmt.fmt(created), "created_by_id": me, "updated_at": None, "updated_by_id": None,
        "group_ids": group_ids[:1] if view["is_shared"] else [], "user_ids": list(view["shared_with"]),
        "whole_org": view["is_shared"] and rng.random() < 0.5}


def _formatted(number):
    return "+1 %s-%s-%s" % (number[2:5], number[5:8], number[8:])


def _us_number(rng):
    return "+1%d%d%d" % (rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999))


PERSONAL_LABELS = ["Primary Number", "Direct line", "My Personal Cell"]    # [C: OAS examples]


def _phone_numbers(rng, clock, ctx, users):
    """Personal internal numbers, two group numbers, an external and a virtual one; keys of
    Close's OAS list example, with its absent keys and null label on some records."""
    out = []
    specs = [("internal", False, uid) for uid in users[:5]] + \
            [("internal", True, None), ("internal", True, None), ("external", False, users[0]),
             ("virtual", False, users[-1])]
    for i, (kind, group, owner) in enumerate(specs):
        created, updated = clock.created_updated()
        number = _us_number(rng)
        forward = _us_number(rng) if i == 2 else None
        externals = [_us_number(rng)] if group and i % 2 else []
        rented = kind == "internal"         # Close bills the numbers it rents out [I]
        rec = {
            "id": ids.make(rng, "phon"), "organization_id": ctx.org_id, "type": kind,
            "number": number, "number_formatted": _formatted(number), "country": "US",
            "label": None if i == 3 else "Group Number" if group else rng.choice(PERSONAL_LABELS),
            "user_id": owner, "is_group_number": group,
            "participants": sorted(rng.sample(users, min(3, len(users)))) if group else [],
            "phone_numbers": externals, "phone_numbers_formatted": [_formatted(n) for n in externals],
            "forward_to": forward, "forward_to_enabled": forward is not None,
            "forward_to_formatted": _formatted(forward) if forward else None,
            "inbound_ring_duration": rng.choice([None, None, 45]),
            "is_premium": False, "is_verified": True, "was_ported": kind != "virtual" and rng.random() < 0.2,
            "sms_enabled": kind == "internal", "mms_enabled": kind == "internal",
            "supports_sms_to_countries": ["CA", "US"] if kind == "internal" else [],
            "supports_mms_to_countries": ["CA", "US"],
            "press_1_to_accept": group and rng.random() < 0.5,
            "voicemail_greeting_url": None if rng.random() < 0.7 else "https://s3.amazonaws.com/vm/%d.mp3" % i,
            "carrier": rng.choice(["twilio", "plivo"]) if kind == "internal" else None,
            "carrier_type": rng.choice(["local", "mobile", "tollfree"]) if kind == "internal" else None,
            "address_id": None, "bundle_id": None,
            "last_billed_price": round(rng.uniform(1, 3), 2) if rented else None,
            "next_billing_on": timefmt.fmt(clock.now + rng.randint(1, 28) * timefmt.DAY) if rented else None,
            "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated)}
        if group:
            del rec["was_ported"]                       # [C: OAS list example, the group number]
        if kind == "external":
            del rec["inbound_ring_duration"]            # [C: OAS list example, the external number]
        if i == 1:
            for key in ("participants", "phone_numbers", "phone_numbers_formatted"):
                del rec[key]                            # [C: OAS single-number example]
        if i == 4:
            rec["date_created"] = rec["date_updated"] = _naive_micro(clock, created)   # [C: OAS POST example]
        out.append(rec)
    return out


# -- serving ----------------------------------------------------------------------------------
def _flag(params, name):
    """A boolean filter: None when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value not in ("true", "false", "1", "0"):
        P.bad_request("Invalid value for %s: %r is not a boolean." % (name, raw))
    return value in ("true", "1")


def _serve_list(sb, kind, params, keep=lambda item: True, paged=True):
    """One page of a table. An unpaged list (no `_skip`/`_limit` documented) comes whole."""
    tables = of(sb)
    skip, limit = P.paging(params, kind, sb.paging) if paged else (0, None)
    if sb.faults.take_deleted(kind, skip):
        raise P.ApiError(404, "Empty query: Document has been deleted.")
    items = [item for item in tables.snapshot(kind) if keep(item)]
    records = sb.faults.take_offset_shift(kind) if skip > 0 and items else 0
    if records:
        # Really delete the items just before the offset: the tail moves left by that many, so
        # a client stepping `_skip` by its page length would miss them.
        end = min(skip, len(items))
        for item in items[max(0, end - records):end]:
            tables.remove(kind, item["id"])
        items = [item for item in tables.snapshot(kind) if keep(item)]
    page = items[skip:] if limit is None else items[skip:skip + limit]
    wanted = P.fields(params)
    return P.envelope([P.trim(item, wanted) for item in page], skip, len(items))


def _serve_one(sb, kind, params, rid, extra=lambda item: {}):
    for item in of(sb).snapshot(kind):
        if item["id"] == rid:
            return P.trim(dict(item, **extra(item)), P.fields(params))
    P.not_found(MODELS[kind])


def email_templates(sb, params, rid=None):
    if rid:
        return _serve_one(sb, "email_template", params, rid, lambda item: {"used_by_sequences": []})
    archived = bool(_flag(params, "is_archived"))        # absent: the unarchived ones only [I]
    shared = _flag(params, "is_shared")
    return _serve_list(sb, "email_template", params, lambda t: t["is_archived"] is archived
                       and (shared is None or t["is_shared"] is shared))


def sms_templates(sb, params, rid=None):
    if rid:
        with_files = _flag(params, "include_attachments")
        return _serve_one(sb, "sms_template", params, rid, lambda item: {
            "attachments": list(of(sb).sms_attachments.get(rid, []))} if with_files else {})
    return _serve_list(sb, "sms_template", params)


def roles(sb, params, rid=None):
    if rid:
        return _serve_one(sb, "role", params, rid)
    return _serve_list(sb, "role", params, paged=False)


def groups(sb, params, rid=None):
    if rid:
        return _serve_one(sb, "group", params, rid, lambda item: {
            "members": [{"user_id": uid} for uid in of(sb).members.get(rid, [])]})
    return _serve_list(sb, "group", params, paged=False)


def _types(values, name):
    wrong = [v for v in values if v not in SAVED_SEARCH_TYPES]
    if wrong or not values:
        P.bad_request("Invalid value for %s: %r (one of %s)." % (name, ",".join(values), ", ".join(SAVED_SEARCH_TYPES)))
    return set(values)


def smart_views(sb, params, rid=None):
    if rid:
        # `used_recently` is on single views only [C: OAS]; its value here is arbitrary [I].
        return _serve_one(sb, "saved_search", params, rid, lambda item: {"used_recently": item["is_shared"]})
    wanted = set(SAVED_SEARCH_TYPES)
    if params.get("type__in"):
        wanted &= _types([v for v in params["type__in"].split(",") if v], "type__in")
    if params.get("type"):
        wanted &= _types([params["type"]], "type")
    if not params.get("type__in") and not params.get("type"):
        wanted = {"lead"}                                     # "Defaults to lead" [C: smart views docs]
    return _serve_list(sb, "saved_search", params, lambda view: view["type"] in wanted)


def phone_numbers(sb, params, rid=None):
    if rid:
        return _serve_one(sb, "phone_number", params, rid)
    number, owner, participant = params.get("number"), params.get("user_id"), params.get("participant_user_id")
    group = _flag(params, "is_group_number")

    def keep(rec):
        return ((not number or rec["number"] == number) and (not owner or rec["user_id"] == owner)
                and (group is None or rec["is_group_number"] is group)
                and (not participant or rec["user_id"] == participant or participant in rec.get("participants", [])))
    return _serve_list(sb, "phone_number", params, keep)


# The first path segment → handler(sb, params, rid=None); each segment is its rate-limit group.
ROUTES = {"email_template": email_templates, "sms_template": sms_templates, "role": roles, "group": groups,
          "saved_search": smart_views, "phone_number": phone_numbers}

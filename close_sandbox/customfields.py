"""Custom field definitions of every Close type on every object type, and
value generation. Values appear on objects as `custom.<cf_id>` keys; leads
also carry the deprecated `custom` dict keyed by field name."""
from . import ids, timefmt, words

OBJECT_TYPES = ("lead", "contact", "opportunity", "activity", "shared")

# (type, accepts_multiple_values, name stem); every Close type incl. a
# single- and a multi-valued choices field.
SPECS = [
    ("text", False, "Keyword"),
    ("textarea", False, "Background"),
    ("number", False, "Employees"),
    ("date", False, "Renewal Date"),
    ("datetime", False, "Last Demo At"),
    ("choices", False, "Industry"),
    ("choices", True, "Tags"),
    ("user", False, "Owner"),
    ("contact", False, "Champion"),
    ("hidden", False, "Sync Token"),
]
SHARED_SPECS = [
    ("text", False, "Region", ["lead", "contact"]),
    ("number", False, "Score", ["lead", "opportunity"]),
    ("choices", True, "Segments", ["lead", "custom_activity_type"]),
    ("user", False, "Account Manager", ["opportunity", "contact"]),
    ("date", False, "Contract End", ["lead"]),
]
CHOICES = {
    "Industry": words.INDUSTRIES,
    "Tags": ["vip", "partner", "churn-risk", "upsell", "trial", "enterprise"],
    "Segments": ["SMB", "Mid-Market", "Enterprise", "Public Sector"],
}
MODEL_NAMES = {"lead": "LeadCustomField", "contact": "ContactCustomField",
               "opportunity": "OpportunityCustomField", "activity": "ActivityCustomField",
               "shared": "SharedCustomField"}


def _definition(ctx, object_type, cf_type, multi, name, extra):
    created = ctx.ancient_time()
    # A few definitions were edited recently (reference: "a few updated recently").
    updated = ctx.recent_time() if ctx.rng.random() < 0.2 else created
    user = ctx.rng.choice(ctx.users)
    rec = {
        "id": ids.make(ctx.rng, "cf"),
        "name": name,
        "description": None if ctx.rng.random() < 0.6 else words.sentence(ctx.rng),
        "type": cf_type,
        "accepts_multiple_values": multi,
        "choices": list(CHOICES.get(name, words.INDUSTRIES)) if cf_type == "choices" else None,
        "editable_with_roles": [],
        "is_shared": object_type == "shared",
        "referenced_custom_type_id": None,
        "back_reference_is_visible": None,
        "organization_id": ctx.org_id,
        "created_by": user["id"],
        "updated_by": user["id"],
        "date_created": timefmt.fmt(created),
        "date_updated": timefmt.fmt(updated),
    }
    rec.update(extra)
    return rec


# -- custom activity types (GET /custom_activity/) ------------------------------------
# (name, description present, api_create_only, carries is_archived). Sources:
# [ABR] Airbyte expected_records.jsonl (real records, 2021-22): "Qualification Call" and
#   "Meeting Activity 1", description null, NO is_archived key;
# [OAS] Close's OpenAPI examples (api-evangelist/close openapi/close-custom-activity-types-
#   api-openapi.yml): "API Event" with api_create_only true and `fields: []`, and
#   is_archived false on every type; PUT documents is_archived as updatable.
# The sources disagree on is_archived, so some types carry it and one does not.
ACTIVITY_TYPE_SPECS = [
    ("Demo Feedback", False, False, False),     # the 2021-22 real form
    ("Onsite Visit", True, False, True),        # the documented form
    ("Signup Event", True, True, True),         # an API-only event type without fields
]
# Keys of one entry of a type's `fields`, exactly those of the real record [ABR]; Close's
# own script notes `choices` is not exposed there (close-api-search-and-shapes.md Q3).
TYPE_FIELD_KEYS = ("id", "name", "description", "type", "required", "accepts_multiple_values",
                   "is_shared", "editable_with_roles", "referenced_custom_type_id",
                   "back_reference_is_visible", "converting_to_type")


def _naive_micro(ctx, us):
    # Types carry NAIVE timestamps with true microseconds, "2022-11-08T12:03:27.631229" [ABR].
    return timefmt.fmt_naive(us + ctx.rng.randint(1, 999))


def _activity_type(ctx, spec):
    name, described, api_only, archivable = spec
    created = ctx.ancient_time()
    updated = ctx.recent_time() if ctx.rng.random() < 0.3 else created
    user = ctx.rng.choice(ctx.users)
    at = {"id": ids.make(ctx.rng, "actitype"), "name": name,
          "description": words.sentence(ctx.rng) if described else None,
          "api_create_only": api_only, "editable_with_roles": [], "fields": [],
          "organization_id": ctx.org_id, "created_by": user["id"], "updated_by": user["id"],
          "date_created": _naive_micro(ctx, created), "date_updated": _naive_micro(ctx, updated)}
    if archivable:
        at["is_archived"] = False
    return at


def type_field(definition, required):
    """One entry of a custom activity type's `fields`: the definition's own values
    (same id, name, type, ...) under the real record's keys, never `choices` [ABR]."""
    out = {k: definition.get(k) for k in TYPE_FIELD_KEYS}   # converting_to_type: set mid-conversion only
    out["required"] = bool(required)          # the activity field's own, or its association's
    return out


def refresh_activity_type_fields(act_types, defs):
    """(Re)build every type's `fields` from the activity and shared definitions: its own
    activity fields, then the shared fields associated with it (is_shared true), as in the
    real "Qualification Call" record [ABR]. Call again after a definition changes."""
    for at in act_types:
        fields = [type_field(d, d.get("required")) for d in defs["activity"]
                  if d["custom_activity_type_id"] == at["id"]]
        for d in defs["shared"]:
            for a in d["associations"]:
                if a["object_type"] == "custom_activity_type" and a.get("custom_activity_type_id") == at["id"]:
                    fields.append(type_field(d, a.get("required")))
        at["fields"] = fields


def generate_definitions(ctx):
    """Returns {object_type: [definition, ...]} and the custom activity types."""
    defs = {t: [] for t in OBJECT_TYPES}
    for object_type in ("lead", "contact", "opportunity"):
        for cf_type, multi, stem in SPECS:
            defs[object_type].append(_definition(ctx, object_type, cf_type, multi, stem, {}))
    act_types = [_activity_type(ctx, spec) for spec in ACTIVITY_TYPE_SPECS]
    for i, (cf_type, multi, stem) in enumerate(SPECS):
        at = act_types[i % 2]          # the fieldless API-event type gets none
        d = _definition(ctx, "activity", cf_type, multi, stem,
                        {"custom_activity_type_id": at["id"], "required": i < 2})
        defs["activity"].append(d)
    for cf_type, multi, stem, assoc in SHARED_SPECS:
        associations = []
        for obj in assoc:
            a = {"object_type": obj, "editable_with_roles": [], "required": False}
            if obj == "custom_activity_type":
                a["custom_activity_type_id"] = act_types[0]["id"]
            associations.append(a)
        defs["shared"].append(_definition(ctx, "shared", cf_type, multi, stem,
                                          {"associations": associations}))
    refresh_activity_type_fields(act_types, defs)
    return defs, act_types


def fields_for(defs, object_type, custom_activity_type_id=None):
    """Definitions whose values can appear on an object of this type."""
    if object_type == "activity":
        out = [d for d in defs["activity"] if d["custom_activity_type_id"] == custom_activity_type_id]
        assoc_match = lambda a: (a["object_type"] == "custom_activity_type"
                                 and a.get("custom_activity_type_id") == custom_activity_type_id)
    else:
        out = list(defs[object_type])
        assoc_match = lambda a: a["object_type"] == object_type
    out += [d for d in defs["shared"] if any(assoc_match(a) for a in d["associations"])]
    return out


def value(ctx, d, contact_ids):
    rng = ctx.rng
    t = d["type"]
    if t == "text":
        return rng.choice(words.WORDS) + "-" + str(rng.randint(1, 999))
    if t == "textarea":
        return words.paragraph(rng, 2)
    if t == "number":
        return rng.randint(1, 5000) if rng.random() < 0.8 else round(rng.uniform(0, 100), 2)
    if t == "date":
        return timefmt.fmt_date(ctx.rand_time(ctx.start_us, ctx.now_us + 200 * timefmt.DAY, avoid=False))
    if t == "datetime":
        return timefmt.fmt(ctx.rand_time(ctx.start_us, ctx.now_us, avoid=False))
    if t == "choices":
        if d["accepts_multiple_values"]:
            return rng.sample(d["choices"], rng.randint(1, 3))
        return rng.choice(d["choices"])
    if t == "user":
        return rng.choice(ctx.users)["id"]
    if t == "contact":
        return rng.choice(contact_ids) if contact_ids else None
    if t == "hidden":
        return "".join(rng.choices("0123456789abcdef", k=16))
    raise ValueError(t)


def values(ctx, fields, contact_ids, presence=0.7, required_ids=()):
    """{"custom.cf_x": value}; some values are absent (presence < 1) except the ids in
    required_ids (a published custom activity carries its required fields)."""
    out = {}
    for d in fields:
        if ctx.rng.random() < presence or d["id"] in required_ids:
            v = value(ctx, d, contact_ids)
            if v is not None:
                out["custom." + d["id"]] = v
    return out

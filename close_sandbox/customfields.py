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


def generate_definitions(ctx):
    """Returns {object_type: [definition, ...]} and the custom activity types."""
    rng = ctx.rng
    defs = {t: [] for t in OBJECT_TYPES}
    for object_type in ("lead", "contact", "opportunity"):
        for cf_type, multi, stem in SPECS:
            defs[object_type].append(_definition(ctx, object_type, cf_type, multi, stem, {}))
    act_types = []
    for label in ("Demo Feedback", "Onsite Visit"):
        created = ctx.ancient_time()
        user = rng.choice(ctx.users)
        act_types.append({
            "id": ids.make(rng, "actitype"), "name": label, "description": words.sentence(rng),
            "api_create_only": False, "editable_with_roles": [], "is_archived": False,
            "fields": [], "organization_id": ctx.org_id,
            "created_by": user["id"], "updated_by": user["id"],
            "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(created)})
    for i, (cf_type, multi, stem) in enumerate(SPECS):
        at = act_types[i % 2]
        d = _definition(ctx, "activity", cf_type, multi, stem,
                        {"custom_activity_type_id": at["id"], "required": i < 2})
        defs["activity"].append(d)
        at["fields"].append(d["id"])
    for cf_type, multi, stem, assoc in SHARED_SPECS:
        associations = []
        for obj in assoc:
            a = {"object_type": obj, "editable_with_roles": [], "required": False}
            if obj == "custom_activity_type":
                a["custom_activity_type_id"] = act_types[0]["id"]
            associations.append(a)
        defs["shared"].append(_definition(ctx, "shared", cf_type, multi, stem,
                                          {"associations": associations}))
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


def values(ctx, fields, contact_ids, presence=0.7):
    """{"custom.cf_x": value}; some values are absent (presence < 1)."""
    out = {}
    for d in fields:
        if ctx.rng.random() < presence:
            v = value(ctx, d, contact_ids)
            if v is not None:
                out["custom." + d["id"]] = v
    return out

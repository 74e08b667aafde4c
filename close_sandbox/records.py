"""Builders for organization-level records and leads, contacts and
opportunities, shaped as in reference section 5 (every record of one kind
has the same keys, with nulls for absent values).

[ABR] = Airbyte's recorded real Close records (airbytehq/airbyte
source-close-com integration_tests/expected_records.jsonl, 2023), the
source for the key sets and null variants here."""
import hashlib
from urllib.parse import quote

from . import customfields, ids, timefmt, words


def _naive_micro(ctx, us):
    # Pipelines carry naive timestamps with true microseconds (reference section 8).
    return timefmt.fmt_naive(us + ctx.rng.randint(1, 999))


def build_org(ctx):
    created = ctx.start_us - 600 * timefmt.DAY
    ctx.org_id = ids.make(ctx.rng, "orga")
    ctx.org = {"id": ctx.org_id, "name": "Sandbox Sales Co",
               "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(created)}


def build_users(ctx, n):
    rng = ctx.rng
    for i in range(max(n, 1)):
        first, last = words.person(rng)
        email = "%s.%s%d@sandbox.example.com" % (first.lower(), last.lower(), i)
        created = ctx.ancient_time()
        updated = ctx.recent_time() if rng.random() < 0.3 else ctx.later(created, ctx.now_us)
        u = {
            "id": ids.make(rng, "user"), "first_name": first, "last_name": last, "email": email,
            "email_verified_at": timefmt.fmt(created + rng.randint(1, 3600) * 1000 * 1000) if rng.random() < 0.9 else None,
            "image": "https://secure.gravatar.com/avatar/" + hashlib.md5(email.encode()).hexdigest(),
            "google_profile_image_url": None,
            "organizations": [ctx.org_id],
            "last_used_timezone": rng.choice(words.TIMEZONES),
            "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
        }
        ctx.users.append(u)
        ctx.users_by_id[u["id"]] = u
    ctx.api_user = ctx.users[0]


def build_statuses(ctx):
    """Lead statuses {id, label} and, per pipeline, opportunity statuses
    {id, label, type, pipeline_id}: the keys of Airbyte's recorded real
    /status/ records [ABR]; `organization_id` is added by the endpoint.
    `pipeline_name` is NOT on real status records: it is kept here only for
    the builders (activities.py reads it) and must be dropped where statuses
    are served (me_record below; resources.statuses, not this module's)."""
    rng = ctx.rng
    ctx.lead_statuses = [{"id": ids.make(rng, "stat"), "label": label}
                         for label in ("Potential", "Bad Fit", "Qualified", "Interested", "Customer")]
    for name, statuses in (("Sales", [("Active", "active"), ("Proposal Sent", "active"),
                                      ("Won", "won"), ("Lost", "lost")]),
                           ("Renewals", [("Open", "active"), ("Renewed", "won"), ("Churned", "lost")])):
        pid = ids.make(rng, "pipe")
        sts = [{"id": ids.make(rng, "stat"), "label": label, "type": typ, "pipeline_id": pid,
                "pipeline_name": name} for label, typ in statuses]
        ctx.opp_statuses += sts
        created = ctx.start_us - 550 * timefmt.DAY
        # The organization's first pipeline is made by Close at sign-up:
        # created_by/updated_by null, as on Airbyte's recorded "Sales"
        # pipeline [ABR]; a pipeline a user added names that user [I].
        author = None if not ctx.pipelines else ctx.user()["id"]
        ctx.pipelines.append({"id": pid, "name": name, "organization_id": ctx.org_id,
                              "statuses": [{"id": s["id"], "label": s["label"], "type": s["type"]} for s in sts],
                              "created_by": author, "updated_by": author,
                              "date_created": _naive_micro(ctx, created),
                              "date_updated": _naive_micro(ctx, created + timefmt.DAY)})


def served_status(status):
    """An opportunity status as Close serves it: without the internal pipeline_name [ABR]."""
    return {k: v for k, v in status.items() if k != "pipeline_name"}


def me_record(ctx, user):
    """GET /me/: the user with organizations as objects, email_accounts, memberships."""
    me = dict(user)
    org = dict(ctx.org)
    org["lead_statuses"] = [dict(s) for s in ctx.lead_statuses]
    org["opportunity_statuses"] = [served_status(s) for s in ctx.opp_statuses]
    # Deprecated in favour of `pipelines` since 2019-12-10 [Close changelog 2019/12/10].
    org["pipelines"] = [dict(p) for p in ctx.pipelines]
    me["organizations"] = [org]
    me["email_accounts"] = [{"_type": "google", "id": "emailacct_" + user["id"][5:],
                             "identities": [{"email": user["email"],
                                             "name": "%s %s" % (user["first_name"], user["last_name"])}],
                             "organization_id": ctx.org_id, "user_id": user["id"]}]
    me["memberships"] = [{"id": "memb_" + user["id"][5:27], "organization_id": ctx.org_id,
                          "user_id": user["id"], "role_id": "admin",
                          "date_created": user["date_created"], "date_updated": user["date_updated"]}]
    return me


def phone(rng):
    area, a, b = rng.randint(201, 989), rng.randint(200, 999), rng.randint(1000, 9999)
    return {"raw": "+1%d%d%d" % (area, a, b), "formatted": "+1 %d-%d-%d" % (area, a, b)}


def address(rng):
    city, state, country = rng.choice(words.CITIES)
    return {"label": rng.choice(["business", "mailing", "other"]),
            "address_1": "%d %s" % (rng.randint(1, 999), rng.choice(words.STREETS)),
            "address_2": None if rng.random() < 0.7 else "Suite %d" % rng.randint(1, 500),
            "city": city, "state": state, "zipcode": str(rng.randint(10000, 99999)), "country": country}


def build_contact(ctx, lead_id, domain, created, updated, cf_fields=None):
    rng = ctx.rng
    first, last = words.person(rng)
    name = "%s %s" % (first, last)
    user = ctx.user()
    p = phone(rng)
    # title: a string, null or "" [ABR: "Customer Success Team" null, "Cooper" ""].
    title = rng.choice(words.TITLES) if rng.random() < 0.95 else ""
    c = {
        "id": ids.make(rng, "cont"), "lead_id": lead_id, "name": name, "display_name": name,
        "title": title,
        "emails": [{"type": rng.choice(["office", "home", "direct"]),
                    "email": "%s.%s@%s" % (first.lower(), last.lower(), domain)}] if rng.random() < 0.9 else [],
        "phones": [{"type": rng.choice(["office", "mobile", "direct"]), "phone": p["raw"],
                    # country null for a number Close cannot place [ABR: +1 600-000-0001]
                    "phone_formatted": p["formatted"], "country": "US" if rng.random() < 0.95 else None}]
                  if rng.random() < 0.8 else [],
        "urls": [{"type": "url", "url": "https://%s/team/%s" % (domain, first.lower())}] if rng.random() < 0.3 else [],
        "integration_links": [{"name": "LinkedIn Search",
                               "url": "https://www.linkedin.com/search/results/all/?keywords=" + quote(name)}],
        "organization_id": ctx.org_id, "created_by": user["id"], "updated_by": user["id"],
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
    }
    fields = cf_fields if cf_fields is not None else customfields.fields_for(ctx.custom_fields, "contact")
    c.update(customfields.values(ctx, fields, [c["id"]], presence=0.6))
    return c


def money(cents):
    whole, frac = divmod(cents, 100)
    s = "${:,}".format(whole)
    return s + (".%02d" % frac if frac else "")


def _expected_close(ctx, created):
    if ctx.rng.random() < 0.3:
        return None
    return timefmt.fmt_date(created + ctx.rng.randint(3, 120) * timefmt.DAY)


def build_opportunity(ctx, lead, contacts, created, updated, cf_fields=None):
    rng = ctx.rng
    status = rng.choice(ctx.opp_statuses)
    user = ctx.user()
    contact = rng.choice(contacts) if contacts and rng.random() < 0.7 else None
    cents = rng.choice([50000, 120000, 999900, 2500000, 1234556])
    period = rng.choice(["one_time", "one_time", "monthly", "annual"])
    suffix = {"one_time": "", "monthly": " monthly", "annual": " annually"}[period]
    closed = timefmt.fmt_date(ctx.rand_time(created, max(created, updated), avoid=False))
    confidence = {"won": 100, "lost": 0}.get(status["type"], rng.choice([10, 25, 50, 75]))
    # Derived values as on [ABR] records: value 300000 at 75% one_time ->
    # expected 225000, annualized 300000; monthly x12 [I: the period factor].
    annualized = cents * {"one_time": 1, "monthly": 12, "annual": 1}[period]
    o = {
        "id": ids.make(rng, "oppo"), "lead_id": lead["id"], "lead_name": lead["name"],
        "status_id": status["id"], "status_label": status["label"], "status_type": status["type"],
        "status_display_name": status["label"],                  # equals status_label [ABR]
        # Not on [ABR] records nor in Airbyte's schema: UNCONFIRMED, kept
        # because earlier sandbox versions sent them.
        "pipeline_id": status["pipeline_id"], "pipeline_name": status["pipeline_name"],
        "value": cents, "value_currency": "USD", "value_period": period,
        "value_formatted": money(cents) + suffix,
        "confidence": confidence,
        "expected_value": round(cents * confidence / 100),
        "annualized_value": annualized,
        "annualized_expected_value": round(annualized * confidence / 100),
        # An open opportunity's date_won is its expected close date: all
        # three active ones on [ABR] carry one; some are left empty [I].
        "date_won": closed if status["type"] == "won" else (
            _expected_close(ctx, created) if status["type"] == "active" else None),
        "date_lost": closed if status["type"] == "lost" else None,
        "note": words.sentence(rng) if rng.random() < 0.5 else "",
        "contact_id": contact["id"] if contact else None,
        "contact_name": contact["name"] if contact else None,
        "user_id": user["id"], "user_name": ctx.name_of(user["id"]),
        "integration_links": [],                                  # [ABR]
        "organization_id": ctx.org_id,
        "created_by": user["id"], "created_by_name": ctx.name_of(user["id"]),
        "updated_by": user["id"], "updated_by_name": ctx.name_of(user["id"]),
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
    }
    fields = cf_fields if cf_fields is not None else customfields.fields_for(ctx.custom_fields, "opportunity")
    o.update(customfields.values(ctx, fields, [c["id"] for c in contacts], presence=0.6))
    return o


def build_lead_base(ctx, created, updated, lead_id=None, name=None, lead_fields=None):
    """A lead without its children: contacts/opportunities/tasks are filled
    in by compose_lead(); custom values need contact ids, see lead_custom()."""
    rng = ctx.rng
    lead_id = lead_id or ids.make(rng, "lead")
    name = name or words.company(rng)
    domain = name.lower().replace(" ", "").replace(".", "") + ".example.com"
    status = rng.choice(ctx.lead_statuses)
    creator = ctx.user()
    updater = ctx.user() if rng.random() < 0.3 else creator
    return {
        "id": lead_id, "name": name, "display_name": name,
        # a sentence, "" or null [ABR: "Alex" "", "Bluth Company" null]
        "description": rng.choices([words.sentence(rng), "", None], [60, 30, 10])[0],
        "url": "https://" + domain if rng.random() < 0.8 else None,
        "status_id": status["id"], "status_label": status["label"],
        "html_url": "https://app.close.com/lead/%s/" % lead_id,
        "organization_id": ctx.org_id,
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
        "created_by": creator["id"], "created_by_name": ctx.name_of(creator["id"]),
        "updated_by": updater["id"], "updated_by_name": ctx.name_of(updater["id"]),
        "addresses": [address(rng) for _ in range(rng.choice([0, 1, 1, 2]))],
        "contacts": [], "opportunities": [], "tasks": [],
        "integration_links": [{"name": "Google Search", "url": "https://google.com/search?q=" + quote(name)}],
        "custom": {},
    }, domain


def lead_custom(ctx, lead_fields, contact_ids):
    """(custom dict keyed by name, {"custom.cf_x": value})."""
    vals = customfields.values(ctx, lead_fields, contact_ids)
    by_id = {d["id"]: d["name"] for d in lead_fields}
    return {by_id[k[7:]]: v for k, v in vals.items()}, vals


def compose_lead(base, contacts, opportunities, tasks, custom_values):
    """The lead as the API serves it: base fields, children, then custom.cf_*."""
    lead = dict(base)
    lead["contacts"] = contacts
    lead["opportunities"] = opportunities
    # Since 2024-06-07 the lead's `tasks` holds only incomplete tasks.
    lead["tasks"] = [t for t in tasks if not t["is_complete"]]
    for k in list(lead):
        if k.startswith("custom."):
            del lead[k]
    lead.update(custom_values)
    return lead

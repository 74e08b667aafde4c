"""Task builders (reference section 5.4). Lead tasks get task_ ids, the
other types noti_ ids and their type-specific extra fields. date/due_date
are date-only."""
from . import ids, timefmt, words

TYPES = ["lead", "incoming_email", "email_followup", "missed_call", "answered_detached_call",
         "voicemail", "opportunity_due", "incoming_sms", "outgoing_call"]
WEIGHTS = [60, 6, 8, 6, 3, 5, 5, 4, 3]


def _extra(ctx, _type, lead, contact):
    rng = ctx.rng
    phone = contact["phones"][0]["phone"] if contact and contact["phones"] else "+14155550%03d" % rng.randint(0, 999)
    if _type == "incoming_email":
        return ("emailthread", ids.make(rng, "acti"),
                {"emails": [ids.make(rng, "acti")], "subject": words.sentence(rng, 2, 5).rstrip(".")})
    if _type == "email_followup":
        body = words.paragraph(rng, 1)
        return ("emailthread", ids.make(rng, "acti"),
                {"email_id": ids.make(rng, "acti"), "subject": words.sentence(rng, 2, 5).rstrip("."),
                 "body_preview": body[:80]})
    if _type in ("missed_call", "answered_detached_call"):
        return "call", ids.make(rng, "acti"), {"phone": phone, "local_phone": "+14156251293"}
    if _type == "voicemail":
        return ("call", ids.make(rng, "acti"),
                {"phone": phone, "local_phone": "+14156251293",
                 "voicemail_url": "https://api.close.com/voicemail/%s/" % ids.make(rng, "acti"),
                 "voicemail_duration": rng.randint(5, 90)})
    if _type == "opportunity_due":
        opp = rng.choice(lead["opportunities"]) if lead.get("opportunities") else None
        return ("opportunity", opp["id"] if opp else ids.make(rng, "oppo"),
                {"opportunity_value": opp["value"] if opp else 0,
                 "opportunity_value_formatted": opp["value_formatted"] if opp else "$0",
                 "opportunity_value_currency": "USD",
                 "opportunity_note": opp["note"] if opp else ""})
    if _type == "incoming_sms":
        return "sms", ids.make(rng, "acti"), {"phone": phone, "local_phone": "+14156251293"}
    if _type == "outgoing_call":
        return None, None, {"phone": phone}
    return None, None, {}


def build(ctx, lead, _type, created, updated, complete=None):
    if _type not in TYPES:
        raise ValueError("unsupported task _type %r" % _type)
    rng = ctx.rng
    contacts = lead.get("contacts") or []
    contact = rng.choice(contacts) if contacts and rng.random() < 0.5 else None
    assignee, creator = ctx.user(), ctx.user()
    updater = creator if updated == created else ctx.user()
    complete = rng.random() < 0.4 if complete is None else complete
    dateless = rng.random() < 0.05
    day = None if dateless else timefmt.fmt_date(created + rng.randint(0, 14) * timefmt.DAY)
    today = timefmt.fmt_date(ctx.now_us)
    object_type, object_id, extra = _extra(ctx, _type, lead, contact)
    text = extra.get("subject") or words.sentence(rng, 2, 6)
    t = {
        "id": ids.make(rng, "task" if _type == "lead" else "noti"), "_type": _type,
        "lead_id": lead["id"], "lead_name": lead["name"],
        "contact_id": contact["id"] if contact else None,
        "contact_name": contact["name"] if contact else None,
        "assigned_to": assignee["id"], "assigned_to_name": ctx.name_of(assignee["id"]),
        "text": text, "date": day, "due_date": day, "is_complete": complete, "is_dateless": dateless,
        "view": "archive" if complete else ("future" if day and day > today else "inbox"),
        "object_type": object_type, "object_id": object_id,
        "organization_id": ctx.org_id,
        "created_by": creator["id"], "created_by_name": ctx.name_of(creator["id"]),
        "updated_by": updater["id"], "updated_by_name": ctx.name_of(updater["id"]),
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
    }
    t.update(extra)
    return t


def random_type(ctx):
    return ctx.rng.choices(TYPES, WEIGHTS)[0]

"""Activity builders (reference section 5.3): common fields plus the
type-specific ones. Every activity of one _type has the same keys (custom
activities additionally carry their custom.cf_* values when present)."""
from . import customfields, ids, timefmt, words

# typed endpoint path -> _type
ENDPOINT_TYPES = {
    "note": "Note", "call": "Call", "email": "Email", "emailthread": "EmailThread",
    "sms": "SMS", "meeting": "Meeting", "created": "Created",
    "status_change/lead": "LeadStatusChange", "status_change/opportunity": "OpportunityStatusChange",
    "task_completed": "TaskCompleted", "custom": "Custom",
    # exist in Close; the generator makes none of these
    "whatsapp_message": "WhatsAppMessage", "form_submission": "FormSubmission", "lead_merge": "LeadMerge",
}
# _type -> event object_type
EVENT_OBJECT_TYPES = {
    "Note": "activity.note", "Call": "activity.call", "Email": "activity.email",
    "EmailThread": "activity.email_thread", "SMS": "activity.sms", "Meeting": "activity.meeting",
    "Created": "activity.created", "LeadStatusChange": "activity.lead_status_change",
    "OpportunityStatusChange": "activity.opportunity_status_change",
    "TaskCompleted": "activity.task_completed", "Custom": "activity.custom_activity",
}
GENERATED_TYPES = ["Note", "Call", "Email", "EmailThread", "SMS", "Meeting", "LeadStatusChange",
                   "OpportunityStatusChange", "TaskCompleted", "Custom"]
WEIGHTS = [20, 22, 20, 6, 8, 6, 5, 3, 4, 6]


def _common(ctx, lead, _type, created, updated, user, contact_id):
    name = ctx.name_of(user["id"])
    return {
        "id": ids.make(ctx.rng, "acti"), "_type": _type, "lead_id": lead["id"],
        "contact_id": contact_id, "user_id": user["id"], "user_name": name, "users": [],
        "organization_id": ctx.org_id,
        "created_by": user["id"], "created_by_name": name,
        "updated_by": user["id"], "updated_by_name": name,
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
        "activity_at": timefmt.fmt(created),
    }


def _html(text):
    return "<body><p>%s</p></body>" % text


def _note(ctx, a, lead, contact, created):
    text = words.sentence(ctx.rng)
    a.update(note=text, note_html=_html(text))


def _call(ctx, a, lead, contact, created):
    rng = ctx.rng
    status = rng.choice(["completed"] * 6 + ["no-answer", "busy", "failed", "cancel"])
    answered = status == "completed" and rng.random() < 0.85
    remote = contact["phones"][0]["phone"] if contact and contact["phones"] else "+14155550%03d" % rng.randint(0, 999)
    duration = rng.randint(5, 1800) if answered else 0
    text = words.sentence(rng) if rng.random() < 0.4 else ""
    voicemail = status == "completed" and not answered
    a.update(direction=rng.choice(["outbound", "inbound"]), status=status,
             disposition="answered" if answered else ("vm-left" if voicemail else "no-answer"),
             duration=duration, voicemail_duration=rng.randint(5, 60) if voicemail else 0,
             phone=remote, local_phone="+14156251293", remote_phone=remote, source="Close.io",
             call_method="regular", note=text, note_html=_html(text),
             recording_url="https://api.close.com/call/%s/recording/" % a["id"] if answered and rng.random() < 0.3 else None,
             voicemail_url="https://api.close.com/call/%s/voicemail/" % a["id"] if voicemail else None,
             cost=str(rng.randint(0, 30)), dialer_id=None, sequence_id=None,
             date_answered=timefmt.fmt(created + rng.randint(1000, 20000) * 1000) if answered else None)


def _participant(ctx, contact, lead):
    if contact and contact["emails"]:
        return {"email": contact["emails"][0]["email"], "name": contact["name"]}
    return {"email": "info@%s.example.com" % lead["id"][5:12].lower(), "name": ""}


def _email(ctx, a, lead, contact, created):
    rng = ctx.rng
    user = ctx.users_by_id[a["user_id"]]
    me = {"email": user["email"], "name": ctx.name_of(user["id"])}
    them = _participant(ctx, contact, lead)
    outgoing = rng.random() < 0.6
    sender, to = (me, them) if outgoing else (them, me)
    subject = words.sentence(rng, 2, 5).rstrip(".")
    body = words.paragraph(rng, 2)
    msg_id = "<%s@mail.sandbox.example.com>" % ids.make(rng, "msg")[4:30]
    a.update(subject=subject, body_text=body, body_html=_html(body), body_preview=body[:80],
             direction="outgoing" if outgoing else "incoming",
             status=("sent" if outgoing else "inbox") if rng.random() < 0.95 else rng.choice(["draft", "scheduled", "error"]),
             sender='"%s" <%s>' % (sender["name"], sender["email"]), to=[to["email"]], cc=[], bcc=[],
             envelope={"from": [sender], "sender": [sender], "to": [to], "cc": [], "bcc": [], "reply_to": [],
                       "date": timefmt.fmt(created), "in_reply_to": None, "message_id": msg_id, "subject": subject},
             thread_id=ids.make(rng, "acti"), message_ids=[msg_id], references=[], in_reply_to_id=None,
             attachments=[], opens=[], opens_summary="", template_id=None, template_name=None,
             date_sent=timefmt.fmt(created), date_scheduled=None,
             email_account_id="emailacct_" + user["id"][5:], sequence_id=None, send_attempts=[],
             need_smtp_credentials=False, bulk_email_action_id=None)


def _thread(ctx, a, lead, contact, created):
    subject = words.sentence(ctx.rng, 2, 5).rstrip(".")
    a.update(latest_normalized_subject=subject, n_emails=ctx.rng.randint(1, 6),
             participants=[_participant(ctx, contact, lead)], emails=[])


def _sms(ctx, a, lead, contact, created):
    rng = ctx.rng
    remote = contact["phones"][0]["phone"] if contact and contact["phones"] else "+14155550%03d" % rng.randint(0, 999)
    outbound = rng.random() < 0.5
    a.update(text=words.sentence(rng), direction="outbound" if outbound else "inbound",
             status="sent" if outbound else "inbox", local_phone="+14156251293", remote_phone=remote,
             source="Close.io", template_id=None, attachments=[], error_message=None,
             date_sent=timefmt.fmt(created) if outbound else None)


def _meeting(ctx, a, lead, contact, created):
    rng = ctx.rng
    # Meetings start on the hour: these timestamps have no fraction at all.
    starts = created - created % timefmt.HOUR + rng.randint(1, 72) * timefmt.HOUR
    minutes = rng.choice([15, 30, 45, 60])
    user = ctx.users_by_id[a["user_id"]]
    attendees = [{"email": user["email"], "name": ctx.name_of(user["id"]), "status": "yes",
                  "is_organizer": True, "user_id": user["id"], "contact_id": None}]
    if contact and contact["emails"]:
        attendees.append({"email": contact["emails"][0]["email"], "name": contact["name"],
                          "status": rng.choice(["yes", "maybe", "no"]), "is_organizer": False,
                          "user_id": None, "contact_id": contact["id"]})
    a.update(title=words.sentence(rng, 2, 4).rstrip("."), starts_at=timefmt.fmt(starts),
             ends_at=timefmt.fmt(starts + minutes * timefmt.MINUTE), duration=minutes * 60,
             location=rng.choice(["Zoom", "Office", None]), note="", attendees=attendees,
             source="google", status="completed" if starts < ctx.now_us else "upcoming",
             is_recurring=False, activity_at=timefmt.fmt(starts))


def _lead_status(ctx, a, lead, contact, created):
    old, new = ctx.rng.sample(ctx.lead_statuses, 2)
    a.update(old_status_id=old["id"], old_status_label=old["label"],
             new_status_id=new["id"], new_status_label=new["label"])


def _opp_status(ctx, a, lead, contact, created):
    rng = ctx.rng
    old, new = rng.sample(ctx.opp_statuses, 2)
    opp = rng.choice(lead["opportunities"]) if lead.get("opportunities") else None
    a.update(opportunity_id=opp["id"] if opp else ids.make(rng, "oppo"),
             old_status_id=old["id"], old_status_label=old["label"], old_status_type=old["type"],
             new_status_id=new["id"], new_status_label=new["label"], new_status_type=new["type"],
             opportunity_value=opp["value"] if opp else 0, opportunity_value_currency="USD",
             opportunity_value_formatted=opp["value_formatted"] if opp else "$0",
             opportunity_value_period=opp["value_period"] if opp else "one_time",
             opportunity_confidence=opp["confidence"] if opp else 0,
             # a datetime here, unlike the opportunity's own date-only date_won
             opportunity_date_won=(opp["date_won"] + "T00:00:00+00:00") if opp and opp["date_won"] else None)


def _task_completed(ctx, a, lead, contact, created):
    user = ctx.user()
    a.update(task_id=ids.make(ctx.rng, "task"), task_text=words.sentence(ctx.rng, 2, 5),
             task_assigned_to=user["id"], task_assigned_to_name=ctx.name_of(user["id"]))


def _created(ctx, a, lead, contact, created):
    a.update(source=ctx.rng.choice(["Close", "API", "Import"]))


def _custom(ctx, a, lead, contact, created):
    at = ctx.rng.choice(ctx.custom_activity_types)
    a.update(custom_activity_type_id=at["id"], status="published")
    fields = customfields.fields_for(ctx.custom_fields, "activity", at["id"])
    a.update(customfields.values(ctx, fields, [c["id"] for c in lead.get("contacts", [])]))


BUILDERS = {"Note": _note, "Call": _call, "Email": _email, "EmailThread": _thread, "SMS": _sms,
            "Meeting": _meeting, "LeadStatusChange": _lead_status,
            "OpportunityStatusChange": _opp_status, "TaskCompleted": _task_completed,
            "Created": _created, "Custom": _custom}
NO_CONTACT = {"LeadStatusChange", "OpportunityStatusChange", "TaskCompleted", "Created", "Custom"}


def build(ctx, lead, _type, created, updated, user=None):
    if _type not in BUILDERS:
        raise ValueError("unsupported activity _type %r" % _type)
    contacts = lead.get("contacts") or []
    contact = ctx.rng.choice(contacts) if contacts and _type not in NO_CONTACT else None
    user = user or ctx.user()
    a = _common(ctx, lead, _type, created, updated, user, contact["id"] if contact else None)
    BUILDERS[_type](ctx, a, lead, contact, created)
    return a


def random_type(ctx):
    return ctx.rng.choices(GENERATED_TYPES, WEIGHTS)[0]

"""Activity builders: the common fields (reference section 5.3) plus each _type's own,
shaped field by field after what Close really sends. Each builder names its sources:

[ABR] Airbyte's recorded real Close records, airbytehq/airbyte
      airbyte-integrations/connectors/source-close-com/integration_tests/expected_records.jsonl
      (emitted 2023-05; records from 2021-22): Created, Note, Call, Email, EmailThread,
      Meeting, SMS, LeadStatusChange, OpportunityStatusChange, TaskCompleted.
[OAS] Close's OpenAPI (copy in api-evangelist/close, openapi/close-activities-*-api-openapi.yml,
      2026): schemas and examples per activity type.
[REF] /work/shared/reference/close-api.md and close-api-search-and-shapes.md.
[I]   inferred: our choice where the sources are silent.

Two generations of keys: Close's serializers gained keys over the years. The real
2021-22 records [ABR] lack keys that the current OpenAPI marks required (a Meeting's
`outcome_id`, a Note's `pinned`, an Email's `followup_sequence_add_cc_bcc`, ...). A tap must
accept both, so about half the records of those types carry the newer keys (`_modern`) [I].
Otherwise every activity of one _type has the same keys, except the documented variants:
EmailThread `latest_emails`/`emails` (see _thread), TaskCompleted has no `contact_id`."""
from datetime import timedelta, timezone
from email.utils import format_datetime
from itertools import accumulate

from . import customfields, ids, timefmt, words

MS = 1000

# Custom activities: filtered with `_type=Custom` [OAS /activity/ description]; the value on
# the RECORDS is `CustomActivity` in every example of Close's OpenAPI (list, get, create,
# update of /activity/custom/) and in a third-party webhook fixture [REF Q4], never checked
# against a live account. Sandbox(custom_activity_record_type=...) picks which one records carry.
CUSTOM_FILTER_TYPE = "Custom"
CUSTOM_RECORD_TYPES = ("CustomActivity", "Custom")
# typed endpoint path -> the `_type` value that FILTERS on it (Custom for custom activities)
ENDPOINT_TYPES = {
    "note": "Note", "call": "Call", "email": "Email", "emailthread": "EmailThread",
    "sms": "SMS", "meeting": "Meeting", "created": "Created",
    "status_change/lead": "LeadStatusChange", "status_change/opportunity": "OpportunityStatusChange",
    "task_completed": "TaskCompleted", "custom": CUSTOM_FILTER_TYPE,
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
    "CustomActivity": "activity.custom_activity",
}
GENERATED_TYPES = ["Note", "Call", "Email", "EmailThread", "SMS", "Meeting", "LeadStatusChange",
                   "OpportunityStatusChange", "TaskCompleted", "Custom"]
WEIGHTS = [20, 22, 20, 6, 8, 6, 5, 3, 4, 6]
MODERN_SHARE = 0.5
# The keys only current-generation records carry, per _type [OAS; absent in ABR].
MODERN_KEYS = {
    "Note": ("title", "attachments", "note_mentions", "pinned", "pinned_at", "source"),
    "Call": ("outcome_id",),
    "Email": ("followup_sequence_add_cc_bcc", "agent_action_reason", "agent_config_id"),
    "Meeting": ("actual_duration", "attached_call_ids", "conference_links", "conversation_type_id",
                "conversation_type_reason", "notetaker_id", "outcome_autofill_confidence",
                "outcome_autofill_reasoning", "outcome_id", "outcome_reason", "playbook_id",
                "playbook_reason", "provider_calendar_event_id", "provider_calendar_ids",
                "provider_calendar_type", "summary", "user_note", "user_note_date_updated",
                "user_note_html", "user_note_mentions"),
    "TaskCompleted": ("sequence_id", "sequence_name", "sequence_subscription_id"),
}
THREAD_FORM_KEYS = ("emails", "latest_emails")      # an EmailThread carries one or both (_thread)
# A thread lists at most this many of its emails in `latest_emails`: [ABR] a thread with
# n_emails 6 carried 5, one with 2 carried 2; the cap itself is [I].
LATEST_EMAILS_CAP = 5
ORG_PHONE = ("+14156251293", "+1 415-625-1293")      # the org's Close number [ABR calls/SMS]


# -- custom activity `_type` helpers (filters must work whichever value records carry) --------
def is_custom(rec):
    return rec.get("_type") in CUSTOM_RECORD_TYPES


def matches_type(rec, wanted):
    """Does a record pass a `_type` filter value? `Custom` (the filter value Close documents)
    and `CustomActivity` both select custom activity records whatever value they carry [I]."""
    if wanted in CUSTOM_RECORD_TYPES:
        return is_custom(rec)
    return rec.get("_type") == wanted


def stable_keys(rec):
    """A record's keys without its custom.* values and the documented variant keys
    (MODERN_KEYS, THREAD_FORM_KEYS): the same set for every activity of one _type."""
    variant = set(MODERN_KEYS.get(rec.get("_type"), ())) | set(THREAD_FORM_KEYS)
    return frozenset(k for k in rec if not k.startswith("custom.") and k not in variant)


def endpoint_of(_type):
    """The typed endpoint path of a record `_type` (for event request paths), or None."""
    if _type in CUSTOM_RECORD_TYPES:
        return "custom"
    return next((path for path, t in ENDPOINT_TYPES.items() if t == _type), None)


def check_custom_record_type(record_type):
    if record_type not in CUSTOM_RECORD_TYPES:
        raise ValueError("custom_activity_record_type must be one of %s" % ", ".join(CUSTOM_RECORD_TYPES))
    return record_type


# -- small value helpers ------------------------------------------------------------------------
def _table(values, weights):
    # Cumulative weights computed once: choices(cum_weights=) draws exactly as choices(weights=).
    return list(values), list(accumulate(weights))


def _pick(rng, table):
    values, cum = table
    return rng.choices(values, cum_weights=cum)[0]


def _html(text):
    return "<body><p>%s</p></body>" % text


def _short_id(rng, prefix):
    # 22-character ids as in Close's examples: seq_, sub_, smstmpl_, media_, outcome_ [OAS, ABR].
    return prefix + ids.make(rng, "req")[3:]


def _modern(ctx):
    return ctx.rng.random() < MODERN_SHARE


def _later_ms(ctx, us, lo_s, hi_s):
    """A moment lo_s..hi_s seconds after `us`, but never past the sandbox's now (a reply,
    an open, a send that has already happened)."""
    later = timefmt.floor_ms(us + ctx.rng.randint(lo_s * 1000, hi_s * 1000) * MS)
    return min(later, max(us, timefmt.floor_ms(ctx.now_us)))


def _phone_of(ctx, contact):
    if contact and contact["phones"]:
        return contact["phones"][0]["phone"], contact["phones"][0]["phone_formatted"]
    n = ctx.rng.randint(0, 999)
    return "+14155550%03d" % n, "+1 415-555-0%03d" % n


def _no_user(a):
    """Records no Close user touched (synced emails, inbound calls to nobody): null
    created_by/updated_by and their names [ABR synced emails and threads, inbound call]."""
    a.update(created_by=None, created_by_name=None, updated_by=None, updated_by_name=None)


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


# -- Note [ABR note_activities; OAS notes examples] -----------------------------------------------
def _note(ctx, a, lead, contact, created):
    text = words.sentence(ctx.rng)
    a.update(note=text, note_html=_html(text))
    if _modern(ctx):
        pinned = ctx.rng.random() < 0.1
        a.update(title=words.sentence(ctx.rng, 2, 4).rstrip(".") if ctx.rng.random() < 0.3 else None,
                 attachments=[], note_mentions=[], pinned=pinned,
                 pinned_at=a["date_updated"] if pinned else None,
                 source=ctx.rng.choice([None, "api", "ui"]))     # null and "api" in [OAS] examples


# -- Call [ABR call_activities: three real calls; OAS calls examples] ------------------------------
def _call(ctx, a, lead, contact, created):
    rng = ctx.rng
    status = rng.choice(["completed"] * 6 + ["no-answer", "busy", "failed", "cancel"])
    direction = rng.choice(["outbound", "inbound"])
    answered = status == "completed" and rng.random() < 0.85
    voicemail = status == "completed" and not answered
    # Calls logged from outside Close's VoIP: call_method/source "external"/"External", cost "0" [OAS].
    external = answered and rng.random() < 0.1
    remote, remote_fmt = _phone_of(ctx, contact)
    # Unanswered calls may have no local number: local_phone(_formatted) null and
    # local_country_iso "" [ABR, two of three real calls].
    local = ORG_PHONE if answered or rng.random() < 0.5 else (None, None)
    text = words.sentence(rng) if rng.random() < 0.4 else ""
    recording = "https://api.close.com/call/%s/recording/" % a["id"] if answered and rng.random() < 0.3 else None
    a.update(direction=direction, status=status,
             # "answered", "vm-left", and null for a no-answer call [ABR]
             disposition="answered" if answered else ("vm-left" if voicemail else None),
             duration=rng.randint(5, 1800) if answered else 0,
             voicemail_duration=None if external else (rng.randint(5, 60) if voicemail else 0),
             phone=remote, local_phone=local[0], local_phone_formatted=local[1],
             local_country_iso="US" if local[0] else "", remote_phone=remote,
             remote_phone_formatted=remote_fmt, remote_country_iso="US",
             source="External" if external else "Close.io",
             call_method="external" if external else "regular",
             note=text, note_html=_html(text),
             recording_url=recording, has_recording=recording is not None,
             recording_expires_at=timefmt.fmt(created + 90 * timefmt.DAY) if recording else None,   # [I]
             voicemail_url="https://api.close.com/call/%s/voicemail/" % a["id"] if voicemail else None,
             cost="0" if external else (str(rng.randint(1, 30)) if answered else None),
             dialer_id=None, dialer_saved_search_id=None,
             sequence_id=None, sequence_name=None, sequence_subscription_id=None,
             transferred_from=None, transferred_from_user_id=None, transferred_to=None,
             transferred_to_user_id=None, forwarded_to=None, is_forwarded=False, is_joinable=False,
             is_to_group_number=False, coach_legs=[],
             date_answered=timefmt.fmt(_later_ms(ctx, created, 1, 20)) if answered else None)
    if voicemail and direction == "inbound" and rng.random() < 0.5:
        # A voicemail left for nobody in particular: no user, no note at all [ABR].
        a.update(user_id=None, user_name=None, note=None, note_html=None)
        _no_user(a)
    if _modern(ctx):
        a["outcome_id"] = _short_id(rng, "outcome") if rng.random() < 0.3 else None   # required [OAS]


# -- Email and its thread forms [ABR email_activities, email_thread_activities; OAS emails, threads] --
def _identity(name, email):
    return {"email": email, "name": name}


def _sender_text(ident):
    # "Jean Lafleur <john@airbyte.io>" [ABR]; a bare address "karan@close.com" [OAS examples].
    return "%s <%s>" % (ident["name"], ident["email"]) if ident["name"] else ident["email"]


def _rfc2822(us, offset_minutes):
    """envelope.date is the message's Date header, "Sat, 18 Sep 2021 08:29:12 +1100", in the
    sender's zone, not an ISO date-time [ABR, OAS examples]; None gives a draft's
    zone-less "-0000" form [ABR]."""
    at = timefmt.from_us(us - us % timefmt.SECOND)
    if offset_minutes is None:
        return format_datetime(at.replace(tzinfo=None))
    return format_datetime(at.astimezone(timezone(timedelta(minutes=offset_minutes))))


def _envelope_name(rng, name):
    # An unnamed address is "" in real records [ABR] and null in Close's examples [OAS].
    return name if name else ("" if rng.random() < 0.8 else None)


def _envelope(ctx, msg, draft):
    """The parsed headers [ABR]. A draft has no From/Sender/Message-ID yet and a -0000 date
    [ABR draft in a thread]; a draft created over the API has no envelope at all [OAS]."""
    rng = ctx.rng
    if draft and rng.random() < 0.5:
        return None

    def idents(lst):
        return [{"email": i["email"], "name": _envelope_name(rng, i["name"])} for i in lst]
    frm = [] if draft else idents([msg["from"]])
    return {"from": frm, "sender": list(frm), "to": idents(msg["to"]), "cc": idents(msg["cc"]),
            "bcc": [], "reply_to": [] if rng.random() < 0.9 else idents([msg["from"]]),
            "date": _rfc2822(msg["at"], None if draft else rng.choice([0, 0, -420, -300, 60, 120, 660])),
            "in_reply_to": msg["in_reply_to"], "is_autoreply": False,
            "message_id": None if draft else msg["message_id"], "subject": msg["subject"]}


def _quoted(body, key, reply):
    # The body split into shown and folded parts: [{"expand": true, key: ...}, {"expand": false, ...}] [ABR].
    parts = [{"expand": True, key: body}]
    if reply:
        parts.append({"expand": False, key: "\n> " + body[:40] + "\n"})
    return parts


def _attachments(ctx):
    rng = ctx.rng
    if rng.random() >= 0.1:
        return []
    url = "https://app.close.com/go/file/persisted/%s/%s.pdf" % (ctx.org_id, ids.make(rng, "req")[4:])
    att = {"content_type": "application/pdf", "filename": "proposal.pdf",
           "size": rng.randint(2000, 2_000_000), "url": url}
    if rng.random() < 0.5:      # the create response adds these two [OAS]
        att.update(content_id=None, inline_only=False)
    return [att]


def _opens(ctx, sent_us):
    """Opens of a sent email: EmailOpen {ip_address, opened_at, opened_by, user_agent} [OAS];
    the summary text is [I] (null without opens [ABR])."""
    rng = ctx.rng
    if rng.random() >= 0.3:
        return [], None
    opens = [{"ip_address": "203.0.113.%d" % rng.randint(1, 254),
              "opened_at": timefmt.fmt(_later_ms(ctx, sent_us, 60, 86400)),
              "opened_by": None, "user_agent": "Mozilla/5.0"} for _ in range(rng.randint(1, 3))]
    return opens, "Opened %d time%s" % (len(opens), "" if len(opens) == 1 else "s")


def _message(ctx, user, contact, lead, at_us, subject, outgoing, status, synced, reply):
    """One email message, the raw material for an Email record and its thread forms."""
    rng = ctx.rng
    me = _identity(ctx.name_of(user["id"]), user["email"])
    them = _identity(contact["name"], contact["emails"][0]["email"]) if contact and contact["emails"] \
        else _identity("", "info@%s.example.com" % lead["id"][5:12].lower())
    sender, to = (me, them) if outgoing else (them, me)
    cc = []
    for i in range(rng.choice([0, 0, 0, 1, 2])):
        first, last = words.person(rng)
        cc.append(_identity("%s %s" % (first, last), "%s.%s@%s.example.com" % (
            first.lower(), last.lower(), lead["id"][5:10].lower())))
    body = words.paragraph(rng, 2)
    draft = status == "draft"
    return {"at": at_us, "from": sender, "to": [to], "cc": cc, "subject": subject, "body": body,
            "outgoing": outgoing, "status": status, "synced": synced, "reply": reply, "draft": draft,
            "message_id": "<%s@mail.sandbox.example.com>" % ids.make(rng, "msg")[4:30],
            "in_reply_to": "<%s@mail.gmail.com>" % ids.make(rng, "msg")[4:24] if reply else None}


def _email_fields(ctx, a, msg, user, thread_id):
    """Fill an Email record from a message [ABR email_activities; OAS EmailActivity]."""
    rng = ctx.rng
    at, status, draft = msg["at"], msg["status"], msg["draft"]
    sent = status in ("sent", "inbox")
    # A draft made over the API: body_text_quoted null and body_html_quoted a single OBJECT,
    # not a list, in Close's create/update examples [OAS]; other drafts look like [ABR].
    api_draft = draft and rng.random() < 0.5
    opens, opens_summary = _opens(ctx, at) if msg["outgoing"] and sent else ([], None)
    template = rng.random() < 0.15
    sequence = msg["outgoing"] and rng.random() < 0.1
    a.update(
        subject=msg["subject"], body_text=msg["body"], body_html="<div>%s</div>" % msg["body"],
        body_preview=msg["body"][:200],           # previews are cut at 200 characters [ABR]
        body_text_quoted=None if api_draft else _quoted(msg["body"], "text", msg["reply"]),
        body_html_quoted={"expand": True, "html": "<div>%s</div>" % msg["body"]} if api_draft
        else _quoted("<div>%s</div>" % msg["body"], "html", msg["reply"]),
        direction="outgoing" if msg["outgoing"] else "incoming", status=status,
        sender=None if draft and rng.random() < 0.5 else _sender_text(msg["from"]),
        to=[i["email"] for i in msg["to"]], cc=[i["email"] for i in msg["cc"]], bcc=[],
        envelope=_envelope(ctx, msg, draft),
        thread_id=thread_id, message_ids=[] if draft else [msg["message_id"]],
        references=[msg["in_reply_to"]] if msg["reply"] else [],
        in_reply_to_id=ids.make(rng, "acti") if msg["reply"] and rng.random() < 0.1 else None,
        attachments=_attachments(ctx), opens=opens, opens_summary=opens_summary,
        has_reply=msg["outgoing"] and sent and rng.random() < 0.3,
        template_id=ids.make(rng, "tmpl") if template else None,
        template_name=rng.choice(["Email 1 - Intro", "Email 2 - Follow-up #1"]) if template else None,
        date_sent=timefmt.fmt(at) if sent else None,
        date_scheduled=timefmt.fmt(at + timefmt.DAY) if status == "scheduled" else None,
        email_account_id=None if api_draft else "emailacct_" + user["id"][5:],
        sequence_id=_short_id(rng, "seq") if sequence else None,
        sequence_name="Sequence 1" if sequence else None,
        sequence_subscription_id=_short_id(rng, "sub") if sequence else None,
        followup_sequence_id=None, followup_sequence_delay=None, send_as_id=None,
        send_attempts=[{"date": timefmt.fmt(at), "error_class": "SMTPRecipientsRefused",
                        "error_message": "Recipient address rejected"}] if status == "error" else [],
        need_smtp_credentials=False,
        bulk_email_action_id=ids.make(rng, "bulkemail") if msg["outgoing"] and rng.random() < 0.05 else None)
    if sent:
        a["activity_at"] = timefmt.fmt(at)       # when it was sent or received
    if msg["synced"]:
        _no_user(a)                              # synced from the mailbox [ABR]


def _email_status(rng, outgoing):
    # Outgoing: mostly sent; Close's other statuses rarely (MessageStatus [OAS]). Incoming: inbox.
    if not outgoing:
        return "inbox"
    return "sent" if rng.random() < 0.95 else rng.choice(["draft", "scheduled", "outbox", "error"])


def _email(ctx, a, lead, contact, created):
    rng = ctx.rng
    user = ctx.users_by_id[a["user_id"]]
    outgoing = rng.random() < 0.6
    status = _email_status(rng, outgoing)
    # Received and mailbox-synced emails have no Close user as creator [ABR]; a synced message
    # is dated by its Date header, whole seconds [ABR] (date_created stays the store's time).
    synced = status in ("sent", "inbox") and (not outgoing or rng.random() < 0.5)
    at = created - created % timefmt.SECOND if synced else created
    msg = _message(ctx, user, contact, lead, at, words.sentence(rng, 2, 5).rstrip("."),
                   outgoing, status, synced, reply=rng.random() < 0.3)
    # A single-message thread may have the email's own id as thread_id [OAS example].
    thread_id = a["id"] if rng.random() < 0.2 else ids.make(rng, "acti")
    _email_fields(ctx, a, msg, user, thread_id)
    if _modern(ctx):
        # required in the current EmailActivity schema, absent in the real 2021 emails [OAS, ABR]
        a.update(followup_sequence_add_cc_bcc=False, agent_action_reason=None, agent_config_id=None)


# The stripped email summaries in `latest_emails`: exactly these keys [ABR, OAS EmailPreview].
PREVIEW_KEYS = ("id", "subject", "body_preview", "sender", "to", "cc", "bcc", "direction", "status",
                "date_sent", "date_created", "date_updated", "user_id", "has_attachments",
                "opens_summary", "send_as_id", "envelope")
# The emails listed in `emails` in Close's thread examples: an Email without bodies [OAS].
IN_THREAD_DROPPED = ("body_text", "body_html", "body_text_quoted", "body_html_quoted")


THREAD_SIZES = _table([1, 2, 3, 4, 5, 6, 8, 12], [30, 22, 14, 10, 8, 7, 5, 4])
THREAD_FORMS = _table(["latest", "both", "emails"], [55, 25, 20])


def _thread_size(rng):
    # Mostly short conversations; some longer than LATEST_EMAILS_CAP so the list is cut [ABR: 6 -> 5].
    return _pick(rng, THREAD_SIZES)


def _thread_emails(ctx, lead, contact, user, thread, newest_us):
    """The thread's emails, newest first (the order of latest_emails [ABR] and emails [OAS])."""
    rng = ctx.rng
    subject = thread["latest_normalized_subject"]
    draft_only = thread["n_emails"] == 1 and rng.random() < 0.15     # an unsent draft [ABR]
    # Synced messages are dated by their Date header: whole seconds [ABR]; a draft is not.
    at, out = (newest_us if draft_only else newest_us - newest_us % timefmt.SECOND), []
    for k in range(thread["n_emails"]):
        first = k == thread["n_emails"] - 1
        outgoing = rng.random() < 0.6
        status = "draft" if draft_only else ("sent" if outgoing else "inbox")
        msg = _message(ctx, user, contact, lead, at, subject if first else "Re: " + subject,
                       outgoing, status, synced=not draft_only, reply=not first)
        # The thread's contact_id is null while its emails name the contact [ABR].
        email = _common(ctx, lead, "Email", at, at, user, contact["id"] if contact else None)
        email["date_updated"] = timefmt.fmt(_later_ms(ctx, at, 1, 600))
        _email_fields(ctx, email, msg, user, thread["id"])
        email["followup_sequence_add_cc_bcc"] = False      # on every email of Close's thread examples [OAS]
        email["has_attachments"] = bool(email["attachments"])
        out.append(email)
        at = timefmt.floor_ms(at - rng.randint(600, 5 * 86400) * timefmt.SECOND)
        at -= at % timefmt.SECOND          # synced messages: whole seconds [ABR]
    return out, draft_only


def _thread(ctx, a, lead, contact, created):
    """EmailThread [ABR email_thread_activities; OAS EmailThreadActivity]. Three documented forms:
    `latest_emails` only (every real record [ABR]), `emails` only (Close's list and get examples
    [OAS]), or both (the schema lists both, neither required [OAS])."""
    rng = ctx.rng
    user = ctx.users_by_id[a["user_id"]]
    a.update(contact_id=None,                          # null on every real and example thread
             users=[user["id"]], n_emails=_thread_size(rng),
             latest_normalized_subject=words.sentence(rng, 2, 5).rstrip("."))
    # The thread is dated by its newest email, 1 ms later [ABR].
    emails, draft_only = _thread_emails(ctx, lead, contact, user, a, timefmt.floor_ms(created - MS))
    senders = []
    for e in emails:
        ident = None if e["status"] == "draft" else e["envelope"] and e["envelope"]["from"]
        if ident and ident[0]["email"] not in [s["email"] for s in senders]:
            senders.append({"email": ident[0]["email"], "name": ident[0]["name"] or ""})
    a["participants"] = senders                        # [] for a draft-only thread [ABR]
    if not draft_only and rng.random() < 0.7:
        _no_user(a)                                    # synced threads [ABR]
    form = _pick(rng, THREAD_FORMS)
    if form in ("latest", "both"):
        a["latest_emails"] = [{k: e.get(k) for k in PREVIEW_KEYS} for e in emails[:LATEST_EMAILS_CAP]]
    if form in ("emails", "both"):
        a["emails"] = [{k: v for k, v in e.items() if k not in IN_THREAD_DROPPED and k != "has_attachments"}
                       for e in emails]


# -- SMS [ABR sms_activities; OAS sms examples] ----------------------------------------------------
def _sms(ctx, a, lead, contact, created):
    rng = ctx.rng
    remote, remote_fmt = _phone_of(ctx, contact)
    outbound = rng.random() < 0.5
    status = (rng.choice(["sent"] * 16 + ["draft", "draft", "scheduled", "outbox", "error"])
              if outbound else "inbox")
    sent_at = _later_ms(ctx, created, 1, 60) if status == "sent" else None
    mms = rng.random() < 0.1
    a.update(text=words.sentence(rng), direction="outbound" if outbound else "inbound", status=status,
             local_phone=ORG_PHONE[0], local_phone_formatted=ORG_PHONE[1], local_country_iso="US",
             remote_phone=remote, remote_phone_formatted=remote_fmt, remote_country_iso="US",
             source="External" if rng.random() < 0.1 else "Close.io",   # PhoneActivitySource [OAS]
             template_id=_short_id(rng, "smstmpl") if outbound and rng.random() < 0.15 else None,
             attachments=[{"media_id": _short_id(rng, "media"), "content_type": "image/png", "size": 6132,
                           "filename": "logo.png",
                           "url": "https://app.close.com/go/sms/%s/media/x/" % a["id"],
                           "thumbnail_url": "https://app.close.com/go/sms/%s/media/x/thumbnail/" % a["id"]}]
             if mms else [],
             error_message="Message delivery failed." if status == "error" else None,   # text [I]
             date_sent=timefmt.fmt(sent_at) if sent_at else None,        # null for inbound [OAS]
             date_scheduled=timefmt.fmt(created + timefmt.DAY) if status == "scheduled" else None,
             # null on drafts [ABR]; a string on sent and received messages [ABR, OAS]
             cost=str(rng.randint(1, 3)) if status in ("sent", "inbox") else None,
             sequence_id=None, sequence_name=None, sequence_subscription_id=None)
    if sent_at:
        a["activity_at"] = timefmt.fmt(sent_at)            # activity_at = date_sent [ABR]
    if not outbound:
        _no_user(a)                                        # received: no creator [OAS example]


# -- Meeting [ABR meeting_activities; OAS MeetingActivity] ------------------------------------------
def _meeting(ctx, a, lead, contact, created):
    rng = ctx.rng
    # Meetings start on the hour: these timestamps have no fraction at all.
    starts = created - created % timefmt.HOUR + rng.randint(1, 72) * timefmt.HOUR
    minutes = rng.choice([15, 30, 45, 60])
    ends = starts + minutes * timefmt.MINUTE
    user = ctx.users_by_id[a["user_id"]]
    # Attendee names are often null [ABR, OAS]; statuses "yes", "noreply" [ABR, OAS] (and ours).
    attendees = [{"email": user["email"], "name": None if rng.random() < 0.6 else ctx.name_of(user["id"]),
                  "status": "yes", "is_organizer": True, "user_id": user["id"], "contact_id": None}]
    if contact and contact["emails"]:
        attendees.append({"email": contact["emails"][0]["email"],
                          "name": None if rng.random() < 0.6 else contact["name"],
                          "status": rng.choice(["yes", "noreply", "maybe", "no"]), "is_organizer": False,
                          "user_id": None, "contact_id": contact["id"]})
    uid = ids.make(rng, "req")[4:].lower()
    now = ctx.now_us
    a.update(title=words.sentence(rng, 2, 4).rstrip("."), starts_at=timefmt.fmt(starts),
             ends_at=timefmt.fmt(ends), duration=minutes * 60,
             location=rng.choice(["Zoom", "Office", None]), note="", attendees=attendees,
             source="calendar",                            # [ABR, OAS]
             status="completed" if ends <= now else ("in-progress" if starts <= now else "upcoming"),
             is_recurring=False, activity_at=timefmt.fmt(starts), users=[user["id"]],
             integrations=[], calendar_event_uids=[uid],
             connected_account_id="emailacct_" + user["id"][5:],
             calendar_event_link="https://www.google.com/calendar/event?eid=" + uid)
    if _modern(ctx):
        # required in the current MeetingActivity schema, absent in the 2022 record [OAS, ABR]
        a.update(actual_duration=None, attached_call_ids=[],
                 conference_links=[{"type": "ZOOM", "url": "https://zoom.us/j/%d" % rng.randint(10**9, 10**10)}]
                 if a["location"] == "Zoom" else [],
                 conversation_type_id=None, conversation_type_reason=None, notetaker_id=None,
                 outcome_autofill_confidence=None, outcome_autofill_reasoning=None, outcome_id=None,
                 outcome_reason=None, playbook_id=None, playbook_reason=None,
                 provider_calendar_event_id=uid, provider_calendar_ids=["primary"],
                 provider_calendar_type="google", summary=None, user_note=None,
                 user_note_date_updated=None, user_note_html=None, user_note_mentions=[])


# -- status changes [ABR lead/opportunity_status_change_activities; OAS examples] ---------------------
def _lead_status(ctx, a, lead, contact, created):
    old, new = ctx.rng.sample(ctx.lead_statuses, 2)
    a.update(old_status_id=old["id"], old_status_label=old["label"],
             new_status_id=new["id"], new_status_label=new["label"])


def _opp_status(ctx, a, lead, contact, created):
    rng = ctx.rng
    pipeline = rng.choice(sorted({s["pipeline_id"] for s in ctx.opp_statuses}))
    in_pipe = [s for s in ctx.opp_statuses if s["pipeline_id"] == pipeline]
    old, new = rng.sample(in_pipe, 2)
    if rng.random() < 0.1:      # moved to another pipeline: the old/new pipeline keys differ [OAS]
        new = rng.choice([s for s in ctx.opp_statuses if s["pipeline_id"] != old["pipeline_id"]])
    opp = rng.choice(lead["opportunities"]) if lead.get("opportunities") else None
    value = opp["value"] if opp else 0
    a.update(opportunity_id=opp["id"] if opp else ids.make(rng, "oppo"),
             old_status_id=old["id"], old_status_label=old["label"], old_status_type=old["type"],
             new_status_id=new["id"], new_status_label=new["label"], new_status_type=new["type"],
             old_pipeline_id=old["pipeline_id"], old_pipeline_name=old["pipeline_name"],
             new_pipeline_id=new["pipeline_id"], new_pipeline_name=new["pipeline_name"],
             opportunity_value=value, opportunity_value_currency="USD",
             # null for a zero value [OAS example]
             opportunity_value_formatted=opp["value_formatted"] if value else None,
             opportunity_value_period=opp["value_period"] if opp else "one_time",
             opportunity_confidence=opp["confidence"] if opp else 0,
             # a datetime here, unlike the opportunity's own date-only date_won [ABR]
             opportunity_date_won=(opp["date_won"] + "T00:00:00+00:00") if opp and opp["date_won"] else None)


# -- TaskCompleted [ABR task_completed_activities; OAS TaskCompletedActivity] --------------------------
def _task_completed(ctx, a, lead, contact, created):
    user = ctx.user()
    # No contact_id key at all: absent from all three real records and from the schema [ABR, OAS].
    del a["contact_id"]
    a.update(task_id=ids.make(ctx.rng, "task"), task_text=words.sentence(ctx.rng, 2, 5),
             task_assigned_to=user["id"], task_assigned_to_name=ctx.name_of(user["id"]))
    if _modern(ctx):
        a.update(sequence_id=None, sequence_name=None, sequence_subscription_id=None)   # [OAS]


CREATED_SOURCES = _table(["ui", "api", "import"], [70, 20, 10])
CUSTOM_SOURCES = _table(["ui", "api"], [80, 20])
TYPE_TABLE = _table(GENERATED_TYPES, WEIGHTS)


# -- Created [ABR created_activities] --------------------------------------------------------------
def _created(ctx, a, lead, contact, created):
    # "ui" in every real record [ABR]; "api" and "import" from Close's CreationSource enum [OAS].
    source = _pick(ctx.rng, CREATED_SOURCES)
    a.update(source=source, import_id=_short_id(ctx.rng, "import") if source == "import" else None)  # id form [I]


# -- Custom activity instances [OAS CustomActivity and its examples; REF Q4] -------------------------
def _custom(ctx, a, lead, contact, created):
    rng = ctx.rng
    at = rng.choice(ctx.custom_activity_types)
    # "published" by default, "draft" when created without its required fields [OAS create].
    published = rng.random() < 0.85
    pinned = rng.random() < 0.1
    a.update(_type=ctx.custom_activity_record_type, custom_activity_type_id=at["id"],
             status="published" if published else "draft",
             last_published_at=a["date_created"] if published else None,
             pinned=pinned, pinned_at=a["date_updated"] if pinned else None,
             source=_pick(rng, CUSTOM_SOURCES),
             mentions=[], mentions_updated_at=None)
    fields = customfields.fields_for(ctx.custom_fields, "activity", at["id"])
    required = {f["id"] for f in at["fields"] if f["required"]} if published else set()
    a.update(customfields.values(ctx, fields, [c["id"] for c in lead.get("contacts", [])],
                                 required_ids=required))


BUILDERS = {"Note": _note, "Call": _call, "Email": _email, "EmailThread": _thread, "SMS": _sms,
            "Meeting": _meeting, "LeadStatusChange": _lead_status,
            "OpportunityStatusChange": _opp_status, "TaskCompleted": _task_completed,
            "Created": _created, "Custom": _custom, "CustomActivity": _custom}
NO_CONTACT = {"LeadStatusChange", "OpportunityStatusChange", "TaskCompleted", "Created", "Custom",
              "CustomActivity"}


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
    return _pick(ctx.rng, TYPE_TABLE)

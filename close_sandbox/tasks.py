"""Task builders for GET /task/ and a lead's nested `tasks`.

Sources (shared/reference/close-api-search-and-shapes.md §Q2 unless noted):
- [docs]  developer.close.com/api/resources/tasks: `date` is date-only or a
  date-time (`2015-01-10T05:00:00+00:00`); `due_date` is deprecated; the
  type list and each type's object_type and fields.
- [ABR]   Airbyte's recorded real records (expected_records.jsonl, 2023):
  lead tasks with `is_dateless` null (2021) / false (2022); email_followup
  and opportunity_due records WITHOUT `text`, `due_date` and `is_dateless`;
  opportunity_due with `opportunity_value_period` and no
  `opportunity_value_currency`.
- [AB-S]  Airbyte's per-type task schemas (3rd-party): missed_call /
  voicemail / answered_detached_call carry phone, phone_formatted,
  phone_number_description; incoming_sms carries remote_phone(_formatted,
  _description) and `text`; incoming_email body_preview, cleared_followups;
  none of the notification types declares due_date / is_dateless.
- [2025]  webhook fixture copied from Close (3rd-party): task.lead with
  is_new, deduplication_key, is_primary_lead_notification, sequence_id,
  sequence_subscription_id, view null; singer-io/tap-closeio tests/base.py
  (run against a live account, 2025): tasks also carry priority, resolution.

Every task of one `_type` and era has the same keys (see _era)."""
from . import ids, timefmt, words

TYPES = ["lead", "incoming_email", "email_followup", "missed_call", "answered_detached_call",
         "voicemail", "opportunity_due", "incoming_sms", "outgoing_call"]
WEIGHTS = [60, 6, 8, 6, 3, 5, 5, 4, 3]
# Types a user creates [docs: "only lead and outgoing_call can be created"]:
# they carry text, due_date and is_dateless and may be timed. The others are
# Close's notifications (noti_ ids), shaped as in [ABR]/[AB-S].
USER_TYPES = ("lead", "outgoing_call")
LOCAL_PHONE = "+14156251293"
# Share of user-type tasks that are timed; with USER_TYPES ~63% of all tasks
# this puts ~24% of dated tasks on a time (brief: 20-30%) [I].
TIMED_SHARE = 0.38
# Eras, as fractions of the generated span: tasks created in the oldest fifth
# predate `is_dateless` (null, [ABR] 2021 vs 2022); tasks created in the
# newest 40% carry the 2025 keys [2025]. Mutations create tasks "now" [I].
LEGACY_END, MODERN_START = 0.2, 0.6
MODERN_KEYS = ("is_new", "deduplication_key", "is_primary_lead_notification", "sequence_id",
               "sequence_subscription_id", "priority", "resolution")


def _era(ctx, created_us):
    span = max(ctx.now_us - ctx.start_us, 1)
    pos = (created_us - ctx.start_us) / span
    return "legacy" if pos < LEGACY_END else ("modern" if pos >= MODERN_START else "current")


def _short_id(rng, prefix):
    # seq_ ids have 22 chars ([ABR] seq_17gkOeJEV1QPdPaOMJ9mTX); ids.make knows
    # only its own short prefixes, so borrow one and swap the prefix.
    return prefix + ids.make(rng, "req")[3:]


def _formatted(raw):
    return "+1 %s-%s-%s" % (raw[2:5], raw[5:8], raw[8:]) if raw.startswith("+1") and len(raw) == 12 else raw


def _phone_fields(rng, contact):
    phone = contact["phones"][0]["phone"] if contact and contact["phones"] else "+14155550%03d" % rng.randint(0, 999)
    # phone_number_description: who the number belongs to; exact content
    # UNCONFIRMED (declared, never shown, in [AB-S] and tap-closeio's schema).
    return phone, _formatted(phone), (contact["name"] if contact else None)


def _incoming_email(ctx, lead, contact, task):
    rng = ctx.rng
    emails = [ids.make(rng, "acti") for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    task.update(object_type="emailthread", object_id=ids.make(rng, "acti"), emails=emails,
                subject=words.sentence(rng, 2, 5).rstrip("."), body_preview=words.paragraph(rng, 1)[:80],
                cleared_followups=[],
                # UNCONFIRMED: no public source found; an independently built
                # fake produced it on incoming_email tasks. At least len(emails).
                total_emails_count_in_thread=len(emails) + rng.randint(0, 4))


def _email_followup(ctx, lead, contact, task):
    rng = ctx.rng
    task.update(object_type="emailthread", object_id=ids.make(rng, "acti"), email_id=ids.make(rng, "acti"),
                subject=words.sentence(rng, 2, 5).rstrip("."), body_preview=words.paragraph(rng, 1)[:80])


def _call(ctx, lead, contact, task, local=True):
    phone, formatted, desc = _phone_fields(ctx.rng, contact)
    task.update(object_type="call", object_id=ids.make(ctx.rng, "acti"), phone=phone,
                phone_formatted=formatted, phone_number_description=desc)
    if local:
        task["local_phone"] = LOCAL_PHONE


def _missed_call(ctx, lead, contact, task):
    _call(ctx, lead, contact, task)


def _answered_detached_call(ctx, lead, contact, task):
    # [docs] lists only `phone`; [AB-S] adds phone_formatted,
    # phone_number_description and recording_url, and no local_phone.
    _call(ctx, lead, contact, task, local=False)
    task["recording_url"] = ("https://api.close.com/call/%s/recording/" % task["object_id"]
                             if ctx.rng.random() < 0.5 else None)


def _voicemail(ctx, lead, contact, task):
    _call(ctx, lead, contact, task)
    task.update(voicemail_url="https://api.close.com/call/%s/voicemail/" % task["object_id"],
                voicemail_duration=ctx.rng.randint(5, 90))


def _opportunity_due(ctx, lead, contact, task):
    """The task points at a real opportunity of the lead; its date is the
    opportunity's expected close date and its contact the opportunity's [ABR]."""
    rng = ctx.rng
    opp = rng.choice(lead["opportunities"]) if lead.get("opportunities") else None
    task.update(object_type="opportunity", object_id=opp["id"] if opp else ids.make(rng, "oppo"),
                opportunity_value=opp["value"] if opp else 0,
                opportunity_value_formatted=opp["value_formatted"] if opp else "$0",
                opportunity_value_period=opp["value_period"] if opp else "one_time",
                opportunity_note=opp["note"] if opp else "")
    if opp:
        task["contact_id"], task["contact_name"] = opp["contact_id"], opp["contact_name"]
        close_date = opp["date_won"] or opp["date_lost"]
        if close_date and task["date"] is not None:
            task["date"] = close_date


def _incoming_sms(ctx, lead, contact, task):
    phone, formatted, desc = _phone_fields(ctx.rng, contact)
    task.update(object_type="sms", object_id=ids.make(ctx.rng, "acti"), local_phone=LOCAL_PHONE,
                remote_phone=phone, remote_phone_formatted=formatted, remote_phone_description=desc,
                text=words.sentence(ctx.rng))


def _outgoing_call(ctx, lead, contact, task):
    # Creatable like a lead task [docs]; its fields beyond `phone` are not
    # documented [I].
    task.update(object_type=None, object_id=None, phone=_phone_fields(ctx.rng, contact)[0])


def _lead(ctx, lead, contact, task):
    # Open lead tasks have no object [docs]; a completed one points at its
    # TaskCompleted activity, linked by the generator [ABR].
    task.update(object_type=None, object_id=None)


EXTRAS = {"lead": _lead, "incoming_email": _incoming_email, "email_followup": _email_followup,
          "missed_call": _missed_call, "answered_detached_call": _answered_detached_call,
          "voicemail": _voicemail, "opportunity_due": _opportunity_due, "incoming_sms": _incoming_sms,
          "outgoing_call": _outgoing_call}


def _date(ctx, created, _type, era):
    """(date value or None, is_dateless). Only user types can be dateless or
    timed; timed tasks sit on the hour or half hour, 07:00-19:30 UTC [I]."""
    rng = ctx.rng
    if _type in USER_TYPES and era != "legacy" and rng.random() < 0.05:
        return None, True
    day = created + rng.randint(0, 14) * timefmt.DAY
    minute = rng.randint(14, 39) * 30 if _type in USER_TYPES and rng.random() < TIMED_SHARE else None
    return timefmt.fmt_task_date(day, minute), (None if era == "legacy" else False)


def view_of(task, today):
    """archive when complete, future when its day is after today, else inbox [docs: view]."""
    if task["is_complete"]:
        return "archive"
    return "future" if task["date"] and task["date"][:10] > today else "inbox"


def _modern_fields(ctx, task, created):
    rng = ctx.rng
    from_sequence = task["_type"] == "outgoing_call" and rng.random() < 0.5   # sequence call steps [I]
    task.update(
        is_new=(not task["is_complete"]) and ctx.now_us - created < 7 * timefmt.DAY,   # meaning [I]
        deduplication_key=None,                       # only null seen [2025]
        is_primary_lead_notification=task["_type"] in USER_TYPES or rng.random() < 0.7,   # [I]
        sequence_id=_short_id(rng, "seq") if from_sequence else None,
        sequence_subscription_id=_short_id(rng, "sub") if from_sequence else None,   # prefix [I]
        priority=None, resolution=None)               # present, values UNCONFIRMED [2025]
    if not task["is_complete"] and rng.random() < 0.1:
        task["view"] = None                           # the 2025 fixture's open task had view null


def build(ctx, lead, _type, created, updated, complete=None):
    if _type not in TYPES:
        raise ValueError("unsupported task _type %r" % _type)
    rng = ctx.rng
    contacts = lead.get("contacts") or []
    contact = rng.choice(contacts) if contacts and rng.random() < 0.5 else None
    assignee, creator = ctx.user(), ctx.user()
    updater = creator if updated == created else ctx.user()
    complete = rng.random() < 0.4 if complete is None else complete
    era = _era(ctx, created)
    day, dateless = _date(ctx, created, _type, era)
    t = {
        "id": ids.make(rng, "task" if _type == "lead" else "noti"), "_type": _type,
        "lead_id": lead["id"], "lead_name": lead["name"],
        "contact_id": contact["id"] if contact else None,
        "contact_name": contact["name"] if contact else None,
        "assigned_to": assignee["id"], "assigned_to_name": ctx.name_of(assignee["id"]),
        "date": day, "is_complete": complete,
        "organization_id": ctx.org_id,
        "created_by": creator["id"], "created_by_name": ctx.name_of(creator["id"]),
        "updated_by": updater["id"], "updated_by_name": ctx.name_of(updater["id"]),
        "date_created": timefmt.fmt(created), "date_updated": timefmt.fmt(updated),
    }
    if _type in USER_TYPES:
        t.update(text=words.sentence(rng, 2, 6), is_dateless=dateless)
    EXTRAS[_type](ctx, lead, contact, t)
    if _type in USER_TYPES:
        t["due_date"] = t["date"]                     # mirrors date, deprecated [docs]
    t["view"] = view_of(t, timefmt.fmt_date(ctx.now_us))
    if era == "modern":
        _modern_fields(ctx, t, created)
    return t


def link_completion(task, activity):
    """A completed lead task and its TaskCompleted activity point at each
    other [ABR: task object_type "taskcompleted", object_id = the activity,
    whose task_id/task_text/task_assigned_to(_name) describe the task]."""
    task["object_type"], task["object_id"] = "taskcompleted", activity["id"]
    activity.update(task_id=task["id"], task_text=task["text"], task_assigned_to=task["assigned_to"],
                    task_assigned_to_name=task["assigned_to_name"])


def random_type(ctx):
    return ctx.rng.choices(TYPES, WEIGHTS)[0]

"""Sequences (Close's app calls them Workflows) and their subscriptions:
`GET /sequence/`, `GET /sequence/{id}/`, `GET /sequence_subscription/` and
`GET /sequence_subscription/{id}/`.

Sources, in the convention of README.md (C = Close's docs, I = inferred, third parties named):
- OAS = Close's OpenAPI pages for sequences (https://developer.close.com/api/resources/sequences,
  list, get, list-subscriptions; the same examples in api-evangelist/close
  openapi/close-sequences-api-openapi.yml). Examples from 2021-11 to 2022-03.
- ABR = Airbyte's recorded real records (airbytehq/airbyte source-close-com
  integration_tests/expected_records.jsonl, stream `email_sequences`, recorded 2022-11).
- LIVE = a public note "Close API — Verified Schema (for close-ai-builder)", responses captured
  from a production account on 2026-04-07 (third party, unnamed repository).

| behaviour | source |
|---|---|
| `GET /sequence/` takes `_limit` (default 100) and `_skip` only: no date filter, no order | C (OAS list) |
| `GET /sequence_subscription/` needs one of `sequence_id`, `contact_id`, `lead_id` (400 otherwise); takes `_limit`, `_skip` and those three | C (OAS list-subscriptions; changelog 2021-03-31 "it is now required to filter by sequence_id, lead_id or contact_id") |
| The three filters combine (AND); an unknown id gives an empty list, not a 404 | I |
| Envelope `{"has_more", "data"}`; `_fields` trims as on every list | C (OAS examples; close-api.md 3.1 `_fields`) |
| Order: creation order, ties by id | I (sources silent) |
| `_limit` above 100 is a 400, as on every resource without a known maximum (params.OTHER_MAX_LIMIT) | I (Airbyte asks 1000 of /sequence/ and never met more than 2 records) |
| Sequence keys `id` (seq_ + 22), `name`, `organization_id`, `status`, `timezone`, `steps`, `created_by_id`, `updated_by_id`, `date_created`, `date_updated` on every record | C (OAS), ABR, LIVE |
| `schedule` (null or `{"ranges": [{weekday, start, end}]}`) without `schedule_id`: the OAS shape | C (OAS) |
| `schedule_id` (sched_ + 22) without `schedule`: the recorded shape | ABR |
| `schedule` and `schedule_id` (null), `trigger_query` (null), `allow_manual_enrollment`, `owner_id`: the 2026 shape | LIVE |
| The three shapes are served side by side (a third of the sequences each), so every key is optional and nullable somewhere | I |
| `status` is `active` (every source) or `archived` (Close's app archives a Workflow; the API value is a guess) | C (help.close.com "Pausing a Workflow"), I (value) |
| Step keys `id` (seqstep_ + 22), `step_type`, `delay` (seconds), `step_allowed_delay` (null or seconds), `email_template_id`, `threading` (`old_thread`/`new_thread` on email steps, null otherwise), `required`, `created_by_id`, `updated_by_id`, `date_created`, `date_updated`; `sms_template_id` on the recorded and 2026 shapes only | C (OAS), ABR (`sms_template_id`, `step_allowed_delay` 3600, `required` false), LIVE (`new_thread`, `sms` steps) |
| `step_type` `email`, `call` or `sms` (sms only where `sms_template_id` exists) | C (OAS email/call), LIVE (sms) |
| `subscription_counts_by_status` `{active, paused, finished, goal, error}` on `GET /sequence/{id}/` only, not in the list | C (OAS get and update examples have it, the list example has not) |
| Subscription keys `id` (sub_ + 22), `sequence_id`, `contact_id`, `lead_id`, `contact_email`, `sender_account_id`, `sender_name`, `sender_email`, `calls_assigned_to`, `status`, `status_reason`, `start_date`, `organization_id`, `created_by_id`, `updated_by_id`, `date_created`, `date_updated` | C (OAS; `lead_id` added by changelog 2023-10-02) |
| `status` `active`, `paused`, `finished`, `goal` or `error` | C (the keys of `subscription_counts_by_status`) |
| `status_reason` null, `manual` on a paused subscription; `replied` (paused) and `send_failed` (error) | C (`manual`: OAS update example), I (the others: Close pauses on a reply, help.close.com "Pausing a Workflow") |
| `start_date` null; sometimes a naive date-time or a date | C (null), I (the other forms: sources silent) |
| `calls_assigned_to` user ids, a `group_` id, or empty | C (OAS), ABR (`group_` id and [] on bulk subscription records) |
| A contact is subscribed to a sequence at most once; subscriptions name real contacts with an email, their lead, and a user's email account (`emailacct_` + the user id's suffix, as /me/ serves it) | C (bulk subscribe: "contacts that have never received the given sequence"), I (the rest) |
| Timestamps naive UTC with true microseconds | C (OAS), ABR |
| One sequence holds most emailable contacts (more than a 100-record page in an organization of 100 leads); two have none | I (test variety) |

Not modelled: writes over HTTP, events for sequences or subscriptions, sequence steps that are
neither email, call nor sms, and subscriptions following their contact when it is deleted.

Generated lazily, once per sandbox, from `random.Random(f"{seed}:sequences")` and the contacts
the store holds at the first request (in creation order), with times relative to the
generation anchor: the same seed and knobs give the same records.
"""
import json
import random
import threading
import weakref

from . import ids, params as P, timefmt

MS = 1000
SUBSCRIPTION_FILTERS = ("sequence_id", "contact_id", "lead_id")
SUBSCRIPTION_STATUSES = ("active", "paused", "finished", "goal", "error")
SHAPES = ("oas", "recorded", "live")
_data_by_store = weakref.WeakKeyDictionary()
_generation_lock = threading.Lock()


# -- the endpoints -------------------------------------------------------------------------
def sequence_endpoint(sb, params, rid=None):
    from .resources import _static_list   # resources routes here: import at call time
    data = data_of(sb)
    if rid:
        with sb.store.lock:
            found = data.sequence(rid)
            if found is None:
                P.not_found("Sequence")
            found = dict(found, subscription_counts_by_status=data.counts(rid))
        return P.trim(found, P.fields(params))
    return _static_list(sb, "sequence", params, lambda: data.sequences, data.delete_sequence)


def subscription_endpoint(sb, params, rid=None):
    from .resources import _static_list
    data = data_of(sb)
    if rid:
        with sb.store.lock:
            found = data.subscription(rid)
        if found is None:
            P.not_found("SequenceSubscription")
        return P.trim(found, P.fields(params))
    wanted = {key: params[key] for key in SUBSCRIPTION_FILTERS if params.get(key)}
    if not wanted:
        P.bad_request("At least one of sequence_id, contact_id and lead_id is required.")

    def matching():
        return [s for s in data.subscriptions if all(s[key] == value for key, value in wanted.items())]
    return _static_list(sb, "sequence_subscription", params, matching, data.delete_subscription)


ROUTES = {"sequence": sequence_endpoint, "sequence_subscription": subscription_endpoint}


# -- the Python API (tests) ------------------------------------------------------------------
def sequences(sb):
    """Every sequence as the list serves it (copies), in list order."""
    data = data_of(sb)
    with sb.store.lock:
        return [_copy(s) for s in data.sequences]


def subscriptions(sb, sequence_id=None):
    """Every subscription (or one sequence's) as the list serves it (copies), in list order."""
    data = data_of(sb)
    with sb.store.lock:
        return [_copy(s) for s in data.subscriptions if sequence_id in (None, s["sequence_id"])]


def update_subscription(sb, sub_id, **changes):
    """Change a subscription as Close would (e.g. `status="paused", status_reason="manual"`):
    `date_updated` becomes the sandbox clock's now and `updated_by_id` the API key's user."""
    data = data_of(sb)
    with sb.store.lock:
        stamp = timefmt.fmt_naive(sb.clock.now_us())
        return _copy(data.replace_subscription(sub_id, dict(
            changes, date_updated=stamp, updated_by_id=sb.store.ctx.api_user["id"])))


def add_subscription(sb, sequence_id, contact_id, **overrides):
    """Subscribe a contact (of the store) to a sequence now, as POST /sequence_subscription/ does.
    A contact is in a sequence at most once (ValueError)."""
    data = data_of(sb)
    with sb.store.lock:
        if any(s["sequence_id"] == sequence_id and s["contact_id"] == contact_id for s in data.subscriptions):
            raise ValueError(f"{contact_id} is already subscribed to {sequence_id}")
        contact = sb.store.contacts.by_id[contact_id]
        now = sb.clock.now_us()
        record = _subscription(data.rng, sb.store.ctx, sequence_id, contact, now, now, data.senders)
        record.update(status="active", status_reason=None, **overrides)
        data.subscriptions.append(record)
        return _copy(record)


# -- the organization's sequences ------------------------------------------------------------
class SequenceData:
    """The generated lists. Records are replaced, never edited in place (a reader may encode
    one outside the store lock); callers hold the store lock."""

    def __init__(self, rng, sequences_, subscriptions_, senders):
        self.rng, self.sequences, self.subscriptions, self.senders = rng, sequences_, subscriptions_, senders

    def sequence(self, rid):
        return next((s for s in self.sequences if s["id"] == rid), None)

    def subscription(self, rid):
        return next((s for s in self.subscriptions if s["id"] == rid), None)

    def counts(self, sequence_id):
        counts = dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
        for s in self.subscriptions:
            if s["sequence_id"] == sequence_id:
                counts[s["status"]] += 1
        return counts

    def replace_subscription(self, rid, changes):
        for i, s in enumerate(self.subscriptions):
            if s["id"] == rid:
                self.subscriptions[i] = dict(s, **changes)
                return self.subscriptions[i]
        raise KeyError(rid)

    def delete_subscription(self, rid):
        before = len(self.subscriptions)
        self.subscriptions[:] = [s for s in self.subscriptions if s["id"] != rid]
        return len(self.subscriptions) < before

    def delete_sequence(self, rid):
        """The offset_shift fault's deletion: the sequence goes, and its subscriptions with it [I]."""
        before = len(self.sequences)
        self.sequences[:] = [s for s in self.sequences if s["id"] != rid]
        self.subscriptions[:] = [s for s in self.subscriptions if s["sequence_id"] != rid]
        return len(self.sequences) < before


def data_of(sb):
    """The sandbox's sequences, generated at the first use (thread-safe, once). Locks are taken
    in one order, the store's then the registry's, so no caller holding the store lock waits."""
    with sb.store.lock:
        with _generation_lock:
            data = _data_by_store.get(sb.store)
        if data is None:
            data = generate(sb.store, sb.seed)
            with _generation_lock:
                _data_by_store[sb.store] = data
        return data


def generate(store, seed):
    rng = random.Random(f"{seed}:sequences")
    ctx = store.ctx
    anchor = ctx.start_us + max(ctx.days, 1) * timefmt.DAY     # the generation's "now" (context.py)
    senders = [(u, "emailacct_" + u["id"][len("user_"):]) for u in ctx.users]   # as records.me_record
    contacts = store.contacts
    emailable = [contacts.by_id[rid] for _, rid in contacts.index["date_created"] if contacts.by_id[rid]["emails"]]
    count = rng.randint(6, 9)
    empty = {count - 1, count - 2}                    # a few sequences nobody is subscribed to
    seqs, subs = [], []
    for i in range(count):
        created = anchor - rng.randint(400, 700) * timefmt.DAY if i == 0 else \
            anchor - rng.randint(30, 500) * timefmt.DAY
        status = "archived" if i == 2 or rng.random() < 0.1 else "active"   # one archived at least
        seq = _sequence(rng, ctx, SHAPES[i % len(SHAPES)], status, created, anchor)
        seqs.append(seq)
        if i in empty:
            continue
        # The first sequence holds most contacts (more than a page), the others a few each.
        n = round(len(emailable) * 0.85) if i == 0 else min(len(emailable), rng.randint(1, 25))
        for contact in sorted(rng.sample(emailable, n), key=lambda c: c["date_created"]):
            lo = max(created, contacts.times[contact["id"]]["date_created"])
            if lo >= anchor - timefmt.MINUTE:
                continue
            sub_created = lo + int(rng.random() * (anchor - timefmt.MINUTE - lo))
            sub_updated = sub_created if rng.random() < 0.35 else \
                sub_created + int(rng.random() * (anchor - timefmt.MINUTE - sub_created))
            subs.append(_subscription(rng, ctx, seq["id"], contact, sub_created, sub_updated, senders))
    seqs.sort(key=lambda s: (s["date_created"], s["id"]))
    subs.sort(key=lambda s: (s["date_created"], s["id"]))
    return SequenceData(rng, seqs, subs, senders)


def _sequence(rng, ctx, shape, status, created, anchor):
    author = rng.choice(ctx.users)["id"]
    updated = created if rng.random() < 0.3 else created + int(rng.random() * (anchor - created - timefmt.DAY))
    steps = [_step(rng, shape, k, created + (k + 1) * 7 * MS, author)
             for k in range(rng.randint(1, 5))]
    seq = {"id": _short_id(rng, "seq"), "name": "%s %s" % (rng.choice(NAMES), rng.randint(1, 9)),
           "organization_id": ctx.org_id, "status": status,
           "timezone": rng.choice(TIMEZONES), "steps": steps,
           "created_by_id": author, "updated_by_id": rng.choice((author, rng.choice(ctx.users)["id"]))}
    seq["date_created"], seq["date_updated"] = _stamps(rng, created, updated)
    if shape in ("oas", "live"):
        seq["schedule"] = _schedule(rng) if rng.random() < 0.5 else None
    if shape == "recorded":
        seq["schedule_id"] = _short_id(rng, "sched")
    if shape == "live":
        seq.update(schedule_id=None, trigger_query=None, allow_manual_enrollment=rng.random() < 0.8,
                   owner_id=author)
    return seq


def _step(rng, shape, index, at, author):
    kinds = ("email", "email", "call") + (("sms",) if shape != "oas" else ())
    step_type = "email" if index == 0 else rng.choice(kinds)
    step = {"id": _short_id(rng, "seqstep"), "step_type": step_type,
            "delay": 0 if index == 0 else rng.choice((3600, 86400, 172800, 259200)),
            "step_allowed_delay": rng.choice((None, None, None, 3600)),
            "email_template_id": ids.make(rng, "tmpl") if step_type == "email" else None,
            "threading": rng.choice(("old_thread", "new_thread")) if step_type == "email" else None,
            "required": rng.random() < 0.8,
            "created_by_id": author, "updated_by_id": author}
    step["date_created"], step["date_updated"] = _stamps(rng, at, at)
    if shape != "oas":
        step["sms_template_id"] = ids.make(rng, "smstmpl") if step_type == "sms" else None
    return step


def _subscription(rng, ctx, sequence_id, contact, created, updated, senders):
    user, account = rng.choice(senders)
    status = rng.choices(SUBSCRIPTION_STATUSES, weights=(45, 20, 25, 5, 5))[0]
    reason = {"paused": rng.choice(("manual", "replied")), "error": "send_failed"}.get(status)
    assigned = rng.choice(([], [user["id"]], [user["id"], rng.choice(ctx.users)["id"]],
                           [_short_id(rng, "group")]))
    start = rng.random()
    date_created, date_updated = _stamps(rng, created, updated)
    return {"id": _short_id(rng, "sub"), "sequence_id": sequence_id, "contact_id": contact["id"],
            "lead_id": contact["lead_id"], "contact_email": contact["emails"][0]["email"],
            "sender_account_id": account, "sender_name": "%s %s" % (user["first_name"], user["last_name"]),
            "sender_email": user["email"], "calls_assigned_to": assigned, "status": status,
            "status_reason": reason,
            "start_date": None if start < 0.8 else (date_created if start < 0.9 else timefmt.fmt_date(created)),
            "organization_id": ctx.org_id, "created_by_id": user["id"], "updated_by_id": user["id"],
            "date_created": date_created, "date_updated": date_updated}


def _schedule(rng):
    days = range(1, 6) if rng.random() < 0.7 else range(0, 7)
    return {"ranges": [{"weekday": day, "start": "09:00", "end": "16:59"} for day in days]}


def _short_id(rng, prefix):
    """Close's sequence-family ids have 22 base62 characters (seq_3CtqAl6ynk4FbJmZIlCYAx) [C: OAS]."""
    return prefix + "_" + "".join(rng.choice(ids.B62) for _ in range(22))


def _stamps(rng, created, updated):
    """date_created and date_updated: naive UTC with true microseconds, never out of order; a
    record never edited has its date_updated a few microseconds after its date_created
    (2022-11-08T12:07:06.184401, ...184405) [C: OAS; ABR]."""
    c = timefmt.floor_ms(created) + rng.randint(1, 899)
    u = c + rng.randint(1, 9) if updated <= created + MS else timefmt.floor_ms(updated) + rng.randint(1, 999)
    return timefmt.fmt_naive(c), timefmt.fmt_naive(u)


def _copy(record):
    return json.loads(json.dumps(record))


NAMES = ("Cold outreach", "Demo follow-up", "Trial nurture", "Renewal reminder", "Re-engagement",
         "Webinar invite", "Onboarding")
TIMEZONES = ("US/Eastern", "America/Los_Angeles", "Europe/Kiev", "Europe/Berlin", "UTC")

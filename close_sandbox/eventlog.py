"""Event-log records and /event/ query semantics (reference 4.3 and 5.6).

Event roots carry NAIVE UTC timestamps; `data` holds the object as the API
serves it (+00:00). Cursors are opaque urlsafe-base64 JSON holding the
position (date_updated, id) and the date_updated bounds of the first request,
so a client may (but need not) resend the date filters."""
import base64
import binascii
import json

from . import ids, timefmt

RETENTION_US = 30 * timefmt.DAY
MAX_LIMIT = 50

# Allowed filter combinations (optionally plus a date_updated range).
ALLOWED = {frozenset(s) for s in [
    (), ("object_type", "object_id"), ("object_type", "action"), ("object_id", "action"),
    ("lead_id", "object_type"), ("lead_id", "object_type", "action"),
    ("lead_id", "user_id", "object_type"), ("lead_id", "user_id", "object_type", "action"),
    ("lead_id", "user_id"), ("user_id", "object_id"), ("user_id", "object_id", "action"),
    ("user_id", "object_type"), ("user_id", "object_type", "action"),
    ("lead_id",), ("user_id",), ("request_id",),
]}
FILTER_KEYS = ("object_type", "object_id", "action", "lead_id", "user_id", "request_id")


def make(rng, org_id, *, object_type, object_id, lead_id, action, at_us, data, previous_data,
         changed_fields, meta, user_id, request_id, api_key_id, created_us=None):
    created_us = at_us if created_us is None else created_us
    return {
        "id": ids.make(rng, "ev"), "object_type": object_type, "object_id": object_id,
        "lead_id": lead_id, "action": action, "changed_fields": list(changed_fields),
        "data": data, "previous_data": previous_data, "meta": meta,
        "request_id": request_id, "user_id": user_id, "api_key_id": api_key_id,
        "oauth_client_id": None, "oauth_scope": None, "organization_id": org_id,
        "date_created": timefmt.fmt_naive(created_us), "date_updated": timefmt.fmt_naive(at_us),
    }


def encode_cursor(payload):
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text):
    try:
        pad = "=" * (-len(text) % 4)
        payload = json.loads(base64.urlsafe_b64decode(text + pad))
        us, eid = payload["k"]
        if payload["d"] not in ("next", "prev") or not isinstance(us, int) or not isinstance(eid, str):
            raise ValueError
        return payload
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise ValueError("invalid cursor")


def page(entries, cursor, limit):
    """entries: ascending [(date_updated_us, id)] already filtered.
    Returns (page_entries newest first, cursor_next_key, cursor_prev_key)."""
    import bisect
    if cursor is None or cursor["d"] == "next":
        end = len(entries) if cursor is None else bisect.bisect_left(entries, tuple(cursor["k"]))
        start = max(0, end - limit)
    else:
        start = bisect.bisect_right(entries, tuple(cursor["k"]))
        end = min(len(entries), start + limit)
    chunk = entries[start:end][::-1]
    nxt = list(chunk[-1]) if chunk and start > 0 else None
    prev = list(chunk[0]) if chunk and end < len(entries) else None
    if not chunk and cursor is not None and cursor["d"] == "prev":
        prev = None
    return chunk, nxt, prev

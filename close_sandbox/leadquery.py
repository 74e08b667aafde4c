"""The (deprecated but working) lead search `query=` language, the subset
taps use: date_updated/date_created comparisons and sort: tokens, ANDed by
whitespace; bare words match the lead name.

Lead search compares dates to the MINUTE (reference 4.2; the Singer tap's
note): both the record value and the query value are truncated to the minute
before comparing, so `date_updated>"12:34"` excludes all of 12:34."""
import re

from . import timefmt
from .params import bad_request

_TOKEN = re.compile(
    r"""\s*(?:
        sort:(?P<sort>-?[A-Za-z_]+)
      | (?P<field>date_updated|date_created)\s*(?P<op>>=|<=|>|<)\s*(?P<value>"[^"]*"|'[^']*'|[^\s"']+)
      | (?P<word>"[^"]*"|[^\s]+)
    )""", re.X)
SORTS = {"date_updated": ("date_updated", False), "updated": ("date_updated", False),
         "date_created": ("date_created", False), "created": ("date_created", False)}


class LeadQuery:
    def __init__(self):
        self.ranges = {}        # key -> (lo, hi) half-open us, minute-aligned
        self.sort = None        # (key, desc)
        self.words = []


def parse(text):
    q = LeadQuery()
    pos = 0
    text = text or ""
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            bad_request("Invalid query: could not parse %r" % text[pos:])
        pos = m.end()
        if m.group("sort"):
            name = m.group("sort")
            desc = name.startswith("-")
            if name.lstrip("-") not in SORTS:
                bad_request("Invalid query: unknown sort field %r" % name)
            key, _ = SORTS[name.lstrip("-")]
            q.sort = (key, desc)
        elif m.group("field"):
            raw = m.group("value").strip("\"'")
            try:
                v = timefmt.floor_minute(timefmt.parse(raw))
            except ValueError:
                bad_request("Invalid query: %r is not a valid date for %s" % (raw, m.group("field")))
            _add_range(q, m.group("field"), m.group("op"), v)
        else:
            word = m.group("word").strip('"')
            if ":" in word or any(c in word for c in "<>="):
                # Other search clauses exist in Close; this sandbox does not model them.
                bad_request("Invalid query: unsupported clause %r" % word)
            q.words.append(word.lower())
    return q


def _add_range(q, key, op, minute):
    """Minute comparison as a half-open range on the full-precision value."""
    lo, hi = q.ranges.get(key, (None, None))
    nxt = minute + timefmt.MINUTE
    if op == ">":
        lo = max(lo or nxt, nxt)
    elif op == ">=":
        lo = max(lo or minute, minute)
    elif op == "<":
        hi = min(hi or minute, minute)
    else:
        hi = min(hi or nxt, nxt)
    q.ranges[key] = (lo, hi)

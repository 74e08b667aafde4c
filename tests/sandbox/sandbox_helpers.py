"""Shared constants and a thin HTTP client for the sandbox contract tests
(a uniquely named module so it never collides with another conftest)."""
from datetime import datetime, timezone

import requests

KEY = "test-key"
AUTH = (KEY, "")
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
TS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}000)?\+00:00$"
NAIVE_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}000)?$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"


class Api:
    """Thin client: get(path, **params) -> requests.Response."""

    def __init__(self, sb, auth=AUTH):
        self.sb = sb
        self.s = requests.Session()
        self.s.auth = auth

    def get(self, path, **params):
        return self.s.get(self.sb.url + path, params=params, timeout=10)

    def json(self, path, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def all(self, path, limit=100, **params):
        """Walk an offset-paged list to the end."""
        out, skip = [], 0
        while True:
            body = self.json(path, _skip=skip, _limit=limit, **params)
            out += body["data"]
            skip += len(body["data"])
            if not body["has_more"]:
                return out

    def events(self, **params):
        out, cursor = [], None
        while True:
            p = dict(params)
            if cursor:
                p["_cursor"] = cursor
            body = self.json("/event/", **p)
            out += body["data"]
            cursor = body["cursor_next"]
            if not cursor:
                return out

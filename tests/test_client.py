"""The HTTP client (tap_close/client.py) on the wire: what each request carries, how each
answer is turned into a result, an exception or a retry, and how the environment's proxy and
CA bundle are found. A canned server shows the exact bytes; the sandbox shows Close's side."""

import base64
import gzip
import json
import os
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import certifi
import pytest
import urllib3

from tap_close import client as client_module
from tap_close import connections as connections_module
from tap_close.client import CloseClient
from tap_close.connections import environment_settings
from tap_close.config import parse_config
from tap_close.errors import (AuthError, BadRequestError, Cancelled, CloseAPIError, NotFoundError, ServerError,
                              UnexpectedResponseError)
from tap_close.ratelimit import Pacer

KEY = "client-test-key"
PAGE = {"data": [{"id": "user_1"}], "has_more": False}
ROOT = Path(__file__).resolve().parent.parent


class Canned:
    """An HTTP server that answers from a list of (status, headers, body) and keeps every
    request it received: method, path, headers (looked up in any case) and body."""

    def __init__(self):
        self.answers, self.received = [], []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                canned.received.append({"method": self.command, "path": self.path, "headers": self.headers,
                                        "body": self.rfile.read(length) if length else b""})
                status, headers, body = canned.answers.pop(0) if canned.answers else (200, {}, PAGE)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response_only(status)    # no Date of the server's own: the answer's only
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned():
    server = Canned()
    yield server
    server.close()


@pytest.fixture
def no_waits(monkeypatch):
    """Retry and pacing waits, recorded instead of slept (the client waits in CloseClient._wait)."""
    waits = []
    monkeypatch.setattr(CloseClient, "_wait", lambda client, seconds, path="": waits.append(seconds))
    return waits


@pytest.fixture
def clean_environment(monkeypatch):
    """No proxy or CA bundle variable: the environment of most runs."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in connections_module.CA_BUNDLE_VARIABLES:
            monkeypatch.delenv(name)


def make_client(base_url, **settings):
    return CloseClient(parse_config({"api_key": KEY, "start_date": "2025-01-01", "base_url": base_url, **settings}))


# -- what a request carries -------------------------------------------------------------------
def test_a_get_carries_the_key_the_agent_and_the_query_as_requests_sent_them(canned):
    client = make_client(canned.url, user_agent="acme-etl (ops@acme.test)")
    assert client.get("lead", {"_limit": 2, "query": "a b&c", "skip_me": None, "status_id": ["st_1", "st_2"]}) == PAGE
    [request] = canned.received
    assert request["method"] == "GET"
    # None is left out, a list repeats its key, values are form-encoded (requests' encoding).
    assert request["path"] == "/api/v1/lead/?_limit=2&query=a+b%26c&status_id=st_1&status_id=st_2"
    headers = request["headers"]
    # Close's API key is the Basic user name, with an empty password.
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert headers["User-Agent"] == "acme-etl (ops@acme.test)"
    assert headers["Accept"] == "application/json"
    assert "gzip" in headers["Accept-Encoding"] and headers["Connection"] == "keep-alive"
    assert "Content-Type" not in headers and request["body"] == b""


def test_the_default_user_agent_names_the_tap(canned):
    make_client(canned.url).get("me")
    assert canned.received[0]["headers"]["User-Agent"].startswith("tap-close/")


def test_a_search_posts_its_json_body(canned):
    query = {"query": {"type": "object_type", "object_type": "lead"}, "_limit": 200}
    assert make_client(canned.url).search(query) == PAGE
    [request] = canned.received
    assert (request["method"], request["path"]) == ("POST", "/api/v1/data/search/")
    assert request["headers"]["Content-Type"] == "application/json"
    assert "x-http-method-override" not in request["headers"]
    assert json.loads(request["body"]) == query


def test_a_query_too_long_for_a_url_is_posted_with_the_method_override(sandbox_factory):
    sandbox = sandbox_factory(api_key=KEY, seed=2, leads=5)
    client = make_client(sandbox.url)
    short = {"_fields": "id,email", "_limit": 5}
    long = {"_fields": ",".join(f"field_{i:04d}" for i in range(400)), "_limit": 5, "gone": None}
    assert len(client.get("user", short)["data"]) > 0
    assert len(client.get("user", long)["data"]) > 0
    first, second = sandbox.request_log[-2:]
    assert first["method"] == "GET" and first["params"]["_fields"] == "id,email"
    # Close reads the parameters from the body of a POST marked `x-http-method-override: GET`.
    assert second["method"] == "POST" and second["path"] == "/user/"
    assert second["params"]["_fields"] == long["_fields"] and "gone" not in second["params"]


def test_a_gzip_answer_is_decompressed(canned):
    canned.answers.append((200, {"Content-Encoding": "gzip"}, gzip.compress(json.dumps(PAGE).encode())))
    assert make_client(canned.url).get("user") == PAGE


def test_connections_are_kept_and_reused(canned):
    client = make_client(canned.url)
    for _ in range(5):
        client.get("user")
    assert len(canned.received) == 5
    # One pool for Close's host, whose connection went back to it after each answer.
    pool = client._pools.connection_from_url(client.base_url)
    assert pool.num_connections == 1 and pool.num_requests == 5


# -- what an answer becomes -------------------------------------------------------------------
@pytest.mark.parametrize("status, body, error, words", [
    (400, {"error": "Invalid _fields"}, BadRequestError, "Invalid _fields"),
    (400, {"field-errors": {"query": "bad"}}, BadRequestError, '"query": "bad"'),
    (401, {}, AuthError, "api_key"),
    (402, {}, CloseAPIError, "plan"),
    (403, {}, AuthError, "role"),
    (404, {"error": {"message": "Empty query"}}, NotFoundError, "Empty query"),
    (405, b"", CloseAPIError, "method"),
    (418, b"", CloseAPIError, "HTTP 418"),
])
def test_each_client_error_status_raises_its_exception_at_once(canned, no_waits, status, body, error, words):
    canned.answers.append((status, {}, body))
    with pytest.raises(error) as raised:
        make_client(canned.url).get("lead", {"_limit": 1})
    assert type(raised.value) is error and raised.value.status == status
    assert words in str(raised.value) and "GET lead" in str(raised.value)
    assert len(canned.received) == 1 and no_waits == []        # not retried


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520])
def test_a_server_error_is_retried_with_backoff_then_answered(canned, no_waits, status):
    canned.answers += [(status, {}, b""), (status, {}, b"")]
    assert make_client(canned.url).get("user") == PAGE
    assert len(canned.received) == 3
    # backoff's exponential waits with full jitter: the n-th wait is drawn from [0, 2^n) s.
    assert len(no_waits) == 2 and 0 <= no_waits[0] <= 1 and 0 <= no_waits[1] <= 2


def test_server_errors_beyond_the_budget_fail_with_the_count(canned, no_waits, monkeypatch):
    monkeypatch.setattr(client_module, "RETRY_FACTOR", 10.0)
    canned.answers += [(503, {}, b"")] * client_module.MAX_SERVER_TRIES
    with pytest.raises(ServerError) as raised:
        make_client(canned.url).get("user")
    assert f"after {client_module.MAX_SERVER_TRIES} tries" in str(raised.value) and raised.value.status == 503
    assert len(canned.received) == client_module.MAX_SERVER_TRIES
    assert len(no_waits) == client_module.MAX_SERVER_TRIES - 1
    # RETRY_FACTOR is read when the retries start: waits up to 10, 20, 40, ... s.
    assert max(no_waits) > 1 and all(0 <= wait <= 10 * 2 ** n for n, wait in enumerate(no_waits))


def test_a_refused_connection_is_retried_then_named(no_waits):
    client = make_client("http://127.0.0.1:9/api/v1", request_timeout=5)
    client.max_server_tries = 3
    with pytest.raises(ServerError) as raised:
        client.get("me")
    assert "ConnectionError" in str(raised.value) and "after 3 tries" in str(raised.value)
    assert len(no_waits) == 2


class FakeTime:
    """A clock that sleeping moves forward: the pacer's and the client's waits, not slept."""

    def __init__(self):
        self.now, self.waits = 1000.0, []

    def monotonic(self):
        return self.now

    def sleep(self, seconds, path=""):
        self.waits.append(seconds)
        self.now += seconds


def test_429_waits_as_long_as_close_says_and_holds_the_group(canned, monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(CloseClient, "_wait", lambda client, seconds, path="": fake.sleep(seconds))
    canned.answers += [(429, {"Retry-After": "7"}, {"error": {"rate_reset": 7}}), (200, {}, PAGE)]
    client = CloseClient(parse_config({"api_key": KEY, "start_date": "2025-01-01", "base_url": canned.url}),
                         pacer=Pacer(clock=fake.monotonic, sleep=fake.sleep))
    assert client.get("lead") == PAGE
    assert [r["path"] for r in canned.received] == ["/api/v1/lead/"] * 2
    # The retry waited what Close asked, and the group's next request found the hold over.
    assert fake.waits == [7] and fake.now == 1007
    assert client.pacer._budgets["lead"].hold_until == 1007


@pytest.mark.parametrize("body, error", [(b"<html>proxy error</html>", "not JSON"), (b"[1, 2]", "JSON list")])
def test_a_200_that_is_not_a_json_object_is_an_unexpected_response(canned, body, error):
    canned.answers.append((200, {}, body))
    with pytest.raises(UnexpectedResponseError, match=error):
        make_client(canned.url).get("user")


def test_a_stopping_run_sends_nothing_more(canned):
    client = make_client(canned.url)
    client.get("user")
    assert len(canned.received) == 1
    client.cancelled.set()
    with pytest.raises(Cancelled):
        client.get("user")
    assert len(canned.received) == 1


# -- what an answer tells the rest of the tap ---------------------------------------------------
def test_the_date_header_sets_close_s_clock(canned):
    ahead = datetime.now(timezone.utc) + timedelta(hours=2)
    canned.answers.append((200, {"Date": ahead.strftime("%a, %d %b %Y %H:%M:%S GMT")}, PAGE))
    client = make_client(canned.url)
    assert not client.clock.known
    client.get("user")
    assert client.clock.known
    assert timedelta(hours=1, minutes=59) < client.clock.now() - datetime.now(timezone.utc) <= timedelta(hours=2)


class RecordingPacer(Pacer):
    def __init__(self):
        super().__init__()
        self.released = []

    def release(self, group, headers):
        self.released.append((group, headers.get("RateLimit") if headers is not None else None))
        super().release(group, headers)


def test_ratelimit_headers_reach_the_pacer(sandbox_factory):
    sb = sandbox_factory(seed=3, leads=5, rate=50, burst=50)
    pacer = RecordingPacer()
    client = CloseClient(parse_config({"api_key": sb.api_key, "start_date": "2025-01-01", "base_url": sb.url}),
                         pacer=pacer)
    client.get("user", {"_limit": 1})
    [(group, header)] = pacer.released
    assert group == "user" and "remaining=" in header
    assert pacer._budgets["user"].remaining is not None      # the budget Close reported


def test_a_request_metric_per_request_when_asked(canned, caplog):
    import logging
    from tap_close.logs import REQUEST_METRICS_LOGGER
    client = make_client(canned.url)
    with caplog.at_level(logging.WARNING, logger=REQUEST_METRICS_LOGGER):
        client.get("user")
    assert not [r for r in caplog.records if "http_request_duration" in r.getMessage()]
    with caplog.at_level(logging.INFO, logger=REQUEST_METRICS_LOGGER):
        client.get("user")
    [line] = [r.getMessage() for r in caplog.records if "http_request_duration" in r.getMessage()]
    point = json.loads(line.split("METRIC: ", 1)[1])
    assert point["tags"] == {"endpoint": "user", "http_status_code": 200, "status": "succeeded"}


# -- the environment: proxies and the CA bundle, as requests reads them ---------------------------
CLOSE = "https://api.close.com/api/v1"


def test_without_proxy_or_bundle_variables_the_defaults_hold(clean_environment, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert environment_settings(CLOSE) == (None, None)
    manager = connections_module.pool_manager(CLOSE, 4, 30)
    assert type(manager) is urllib3.PoolManager
    # requests' default bundle: certifi's
    assert manager.connection_pool_kw["ca_certs"] == certifi.where()
    assert manager.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"


def test_a_proxy_variable_is_read_with_its_credentials(clean_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://ops:p%40ss@proxy.acme.test:3128")
    assert environment_settings(CLOSE) == ("http://ops:p%40ss@proxy.acme.test:3128", None)
    manager = connections_module.pool_manager(CLOSE, 4, 30)
    assert isinstance(manager, urllib3.ProxyManager) and manager.proxy.host == "proxy.acme.test"
    # Percent-decoded, as requests sends them.
    assert manager.proxy_headers == {"Proxy-Authorization": "Basic " + base64.b64encode(b"ops:p@ss").decode()}
    # The proxy is for https only: plain http goes straight.
    assert environment_settings("http://127.0.0.1:8000/api/v1") == (None, None)


def test_no_proxy_exempts_a_host(clean_environment, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.acme.test:3128")
    monkeypatch.setenv("NO_PROXY", "close.com")
    assert environment_settings(CLOSE) == (None, None)
    assert environment_settings("https://api.other.test/api/v1")[0] == "http://proxy.acme.test:3128"


def test_a_ca_bundle_variable_is_used(clean_environment, monkeypatch, tmp_path):
    bundle = tmp_path / "corporate.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert environment_settings(CLOSE) == (None, str(bundle))
    assert connections_module.pool_manager(CLOSE, 4, 30).connection_pool_kw["ca_certs"] == str(bundle)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))      # a directory of certificates
    assert connections_module.pool_manager(CLOSE, 4, 30).connection_pool_kw["ca_cert_dir"] == str(tmp_path)
    # requests' order: REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE; an empty one does not count.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    assert environment_settings(CLOSE) == (None, str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/elsewhere.pem")
    assert environment_settings(CLOSE) == (None, "/elsewhere.pem")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.acme.test:3128")      # through requests too
    assert environment_settings(CLOSE) == ("http://proxy.acme.test:3128", "/elsewhere.pem")


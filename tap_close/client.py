"""The HTTP client for Close: one connection pool, Basic auth, retries, rate-limit pacing and
a table from HTTP status to exception.

Requests go through urllib3's public pool API (`PoolManager.connection_from_url`,
`HTTPConnectionPool.urlopen`). requests' `Session.request` cost about 1 ms of CPU more per
request: it works out proxies from the environment again for every request, merges settings,
builds a prepared request and a Response, and reads the body in 10 kB chunks. On a backfill of
~400 mostly small pages that was about 15% of the tap's CPU (bench/run.py, issue #15).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from urllib.parse import urlencode, urlsplit

import backoff
import orjson
import urllib3

from . import __version__
from .config import Config
from . import metrics, summary
from .errors import (
    AuthError, Cancelled, BadRequestError, CloseAPIError, NotFoundError, RateLimitedError, ServerError,
    UnexpectedResponseError,
)
from .close_clock import CloseClock
from .connections import pool_manager
from .page_memory import PageMemory
from .ratelimit import Pacer, retry_wait
from .timeutil import now_utc

LOGGER = logging.getLogger("tap_close")

# Status → (exception, what it means for a user). 5xx and 429 are retried before they surface.
STATUS_ERRORS: dict[int, tuple[type[CloseAPIError], str]] = {
    400: (BadRequestError, "Close rejected the request"),
    401: (AuthError, "Close rejected the API key (401): check config key 'api_key'"),
    402: (CloseAPIError, "Close says the organization's plan does not allow this (402)"),
    403: (AuthError, "the API key is not allowed to read this (403): check the key's user and role"),
    404: (NotFoundError, "Close answered 404 Not Found"),
    405: (CloseAPIError, "Close does not allow this method here (405)"),
    429: (RateLimitedError, "Close kept rate-limiting the tap (429) beyond the retry budget"),
}
RETRYABLE_STATUS = {500, 502, 503, 504}
MAX_SERVER_TRIES = 8          # 5xx and connection errors
MAX_SERVER_SECONDS = 900
RETRY_FACTOR = 1.0          # seconds; the waits grow 1, 2, 4, ... up to 60 (with jitter)
MAX_RATE_LIMIT_TRIES = 30     # 429s are normal under load; each waits as Close says
# Long `_fields` lists would make a URL too long; Close accepts the same query as a POST
# with `x-http-method-override: GET` and the parameters in the body.
MAX_QUERY_LENGTH = 3000
METHOD_OVERRIDE = {"x-http-method-override": "GET"}
PLANNING_EXTRA_CONNECTIONS = 4
# The compressions requests offered (its default Accept-Encoding is this list of urllib3's);
# urllib3 decompresses the body as it reads it.
ACCEPT_ENCODING = urllib3.util.make_headers(accept_encoding=True)["accept-encoding"]
# Close's Advanced Filtering API: a POSTed JSON query, its own endpoint group.
SEARCH_PATH = "data/search"


class _RateLimited(Exception):
    def __init__(self, wait: float, response):
        super().__init__(f"rate limited for {wait:g}s")
        self.wait = wait
        self.response = response


class _Retryable(Exception):
    """A 5xx, timeout or broken connection: worth another try."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def endpoint_group(path: str) -> str:
    """Close rate-limits per endpoint group; the first path segment identifies ours."""
    segment = path.strip("/").split("/", 1)[0]
    return "custom_field" if segment == "custom_fields" else segment


def _close_message(content: bytes) -> str:
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if body.get("errors") or body.get("field-errors"):
            return json.dumps({k: body.get(k) for k in ("errors", "field-errors")})
    return ""


def _request_name(path: str, params: dict | None, body: dict | None = None) -> str:
    return f"{'GET' if body is None else 'POST'} {path}"


def _server_waits():
    """The waits between tries after a 5xx or a broken connection: backoff's exponential
    generator with full jitter."""
    waits = backoff.expo(factor=RETRY_FACTOR, max_value=60)
    next(waits)   # backoff's generators yield once before the first wait
    for wait in waits:
        yield backoff.full_jitter(wait)


class CloseClient:
    def __init__(self, config: Config, pacer: Pacer | None = None, max_server_tries: int = MAX_SERVER_TRIES,
                 endpoint_groups: int = 1):
        self.max_server_tries = max_server_tries
        self.base_url = config.base_url
        self.timeout = config.request_timeout
        # Close's API key is the HTTP Basic user name, with an empty password (close-api.md,
        # "API key in HTTP Basic auth"); the other headers are the ones requests sent.
        self.headers = {
            "User-Agent": config.user_agent or f"tap-close/{__version__}",
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            "Connection": "keep-alive",
            "Authorization": urllib3.util.make_headers(basic_auth=f"{config.api_key}:")["authorization"],
        }
        self._search_headers = {**self.headers, "Content-Type": "application/json"}
        self._override_headers = {**self._search_headers, **METHOD_OVERRIDE}
        # Set when the run stops: requests still retrying or pacing in other threads give up
        # at once instead of holding the exit for their waits.
        self.cancelled = threading.Event()
        self.pacer = pacer or Pacer(sleep=self._wait, max_in_flight=config.max_concurrency)
        self.clock = CloseClock()     # Close's "now", from its responses' Date headers
        # The pages read and not yet written, bounded in bytes across the run (page_memory.py).
        self.memory = PageMemory(cancelled=self.cancelled)
        # Every worker thread keeps its connection: without a pool as large as the requests in
        # flight, connections would be closed and reopened all run long. Each endpoint group
        # may have `max_concurrency` in flight (the Pacer), and a run reads up to
        # `endpoint_groups` of them at once; planning may run a few more (the activities
        # stream's probes). The pool holds what is idle, it opens none ahead. Retries are ours.
        self._pools = pool_manager(self.base_url,
                                    config.max_concurrency * endpoint_groups + PLANNING_EXTRA_CONNECTIONS,
                                    self.timeout)
        if isinstance(self._pools, urllib3.ProxyManager):
            # Through an HTTP proxy the manager writes each request as the proxy needs it (the
            # whole URL, or a CONNECT tunnel for HTTPS).
            self._urlopen, self._target = self._pools.urlopen, self.base_url
        else:
            # Straight to Close: its host's pool, looked up once, takes the path.
            self._urlopen = self._pools.connection_from_url(self.base_url).urlopen
            self._target = urlsplit(self.base_url).path

    def get(self, path: str, params: dict | None = None) -> dict:
        """GET a Close endpoint and return its JSON object, retrying what is transient."""
        return self._with_retries(path, dict(params or {}))

    def search(self, body: dict) -> dict:
        """POST a query to Close's Advanced Filtering API (`/data/search/`), with the same retries."""
        return self._with_retries(SEARCH_PATH, None, body)

    def _with_retries(self, path: str, params: dict | None, body: dict | None = None) -> dict:
        """429s wait as long as Close says, up to MAX_RATE_LIMIT_TRIES; 5xx and connection
        failures back off exponentially with full jitter (backoff's generators), up to
        max_server_tries. Every wait ends early when the run stops."""
        rate_limited, server_tries, started = 0, 0, time.monotonic()
        server_waits = None
        while True:
            try:
                return self._send(path, params, body)
            except _RateLimited as exc:
                rate_limited += 1
                if rate_limited >= MAX_RATE_LIMIT_TRIES:
                    raise RateLimitedError(STATUS_ERRORS[429][1], 429) from None
                LOGGER.info("rate limited on %s, waiting %.1fs", path, exc.wait)
                self._wait(exc.wait, path)
            except _Retryable as exc:
                server_tries += 1
                if server_tries >= self.max_server_tries or time.monotonic() - started >= MAX_SERVER_SECONDS:
                    raise ServerError(f"Close did not answer {_request_name(path, params, body)} successfully "
                                      f"after {server_tries} tries (last: {exc})", exc.status) from None
                LOGGER.warning("retrying %s after %s (try %d)", path, exc, server_tries)
                server_waits = server_waits or _server_waits()
                self._wait(next(server_waits), path)

    def _wait(self, seconds: float, path: str = "") -> None:
        """Sleep, unless the run stops meanwhile: then give up at once."""
        if self.cancelled.wait(seconds):
            raise Cancelled(f"{path or 'a request'} abandoned: the run is stopping")

    def _send(self, path: str, params: dict | None, body: dict | None = None) -> dict:
        """One request: GET with `params`, or POST of the JSON `body` (a search)."""
        what = _request_name(path, params, body)
        if self.cancelled.is_set():
            raise Cancelled(f"{what} not sent: the run is stopping")
        group = endpoint_group(path)
        resource = f"/{path.strip('/')}/"
        headers = self._search_headers
        if body is None:
            # As requests encodes them: parameters set to None are left out, sequences repeat the key.
            params = {key: value for key, value in params.items() if value is not None}
            query = urlencode(params, doseq=True)
            if len(query) > MAX_QUERY_LENGTH:
                body, headers = {"_params": params}, self._override_headers
            else:
                headers, resource = self.headers, f"{resource}?{query}" if query else resource
        method, payload = ("GET", None) if body is None else ("POST", orjson.dumps(body))
        self.pacer.acquire(group)
        response, kept = None, 0
        if LOGGER.isEnabledFor(logging.DEBUG):
            LOGGER.debug("%s %s%s%s", method, self.base_url, resource, "" if body is None else f" {json.dumps(body)}")
        try:
            self.memory.admit(group)
            with metrics.http_request_timer(path) as tags:
                # The whole body is read (and decompressed) before the connection goes back to
                # the pool for the next request.
                response = self._urlopen(method, self._target + resource, body=payload, headers=headers,
                                         redirect=False, retries=False, preload_content=True, decode_content=True)
                content = response.data
                kept = len(content) if response.status < 400 else 0
                tags["http_status_code"] = response.status
                tags["status"] = "succeeded" if response.status < 400 else "failed"
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            # Timeouts, refused or broken connections, TLS and proxy failures, truncated bodies.
            raise _Retryable(f"{exc.__class__.__name__} on {path}") from None
        finally:
            self.pacer.release(group, response.headers if response is not None else None)
            self.memory.answered(kept)
        status = response.status
        self.clock.observe(response.headers.get("Date"), now_utc())
        summary.count_response(status)
        if status == 429:
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                body = None
            wait = retry_wait(response.headers, body)
            self.pacer.hold(group, wait)
            raise _RateLimited(wait, response)
        if status in RETRYABLE_STATUS or status >= 500:
            raise _Retryable(f"HTTP {status} on {path}", status)
        if status >= 400:
            exc_class, meaning = STATUS_ERRORS.get(status, (CloseAPIError, f"Close answered HTTP {status}"))
            message = _close_message(content)
            detail = f"{meaning} on {what}" + (f": {message}" if message else "")
            raise exc_class(detail, status)
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise UnexpectedResponseError(f"Close answered {what} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise UnexpectedResponseError(
                f"Close answered {what} with JSON {type(body).__name__}, expected an object")
        return body

    def check_access(self) -> dict:
        """A cheap authenticated call: raises AuthError when the key is wrong."""
        return self.get("me", {"_fields": "id,email,organizations"})

"""The HTTP client for Close: one session, Basic auth, retries, rate-limit pacing and a
table from HTTP status to exception."""

from __future__ import annotations

import json
import logging
import threading
from urllib.parse import urlencode

import backoff
import orjson
import requests
import urllib3
from urllib3.exceptions import ClosedPoolError, HTTPError as Urllib3Error

from . import __version__
from .config import Config
from . import metrics, summary
from .errors import (
    AuthError, Cancelled, BadRequestError, CloseAPIError, NotFoundError, RateLimitedError, ServerError,
    UnexpectedResponseError,
)
from .ratelimit import Pacer, retry_wait

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


class CloseClient:
    def __init__(self, config: Config, session: requests.Session | None = None, pacer: Pacer | None = None,
                 max_server_tries: int = MAX_SERVER_TRIES):
        self.max_server_tries = max_server_tries
        self.base_url = config.base_url
        self.timeout = config.request_timeout
        self.session = session or requests.Session()
        self.session.auth = (config.api_key, "")
        self.session.headers.update({
            "User-Agent": config.user_agent or f"tap-close/{__version__}",
            "Accept": "application/json",
        })
        self.pacer = pacer or Pacer()
        # Set when the run stops: requests still retrying in other threads give up at their
        # next attempt instead of holding the exit for their whole retry budget.
        self.cancelled = threading.Event()
        # requests works out, for every request, the environment (proxies, CA bundle), merged
        # headers and auth, and builds a PreparedRequest and a Response around urllib3's: over
        # half the CPU of a page of activities. Close's API needs none of that per request, so
        # requests' own code does it once here, and each request then goes to the urllib3 pool
        # that requests' adapter would have used, with the same URL form, headers, TLS settings
        # and proxy, and the same no-retry policy (retries are ours, below).
        environment = self.session.merge_environment_settings(self.base_url, {}, True, None, None)
        self._template = self.session.prepare_request(requests.Request("GET", self.base_url + "/"))
        self._headers = dict(self._template.headers)   # User-Agent, Accept, Accept-Encoding, Authorization
        self._post_headers = {**self._headers, "Content-Type": "application/json", "x-http-method-override": "GET"}
        self._verify, self._cert, self._proxies = environment["verify"], environment["cert"], environment["proxies"]
        self._adapter = self.session.get_adapter(self.base_url)
        # Through a plain-HTTP proxy the request line names the whole URL, otherwise its path.
        target = self._adapter.request_url(self._template, self._proxies)
        self._prefix = target[:-1] if target.endswith("/") else target
        self._timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        self._connection_pool = None
        self._get_with_retries = self._retrying(self._send)

    def get(self, path: str, params: dict | None = None) -> dict:
        """GET a Close endpoint and return its JSON object, retrying what is transient."""
        return self._get_with_retries(path, dict(params or {}))

    def _retrying(self, send):
        """`send(path, params)` inside the two retry policies: 429s wait as long as Close says,
        up to MAX_RATE_LIMIT_TRIES; 5xx and connection failures back off exponentially, up to
        max_server_tries. Built once per client rather than per request."""
        server_retries = backoff.on_exception(
            backoff.expo, _Retryable, max_tries=self.max_server_tries, max_time=MAX_SERVER_SECONDS,
            factor=RETRY_FACTOR, max_value=60, logger=None,
            on_backoff=lambda d: LOGGER.warning("retrying %s after %s (try %d)", d["args"][0], d["exception"],
                                                d["tries"]),
            on_giveup=lambda d: self._give_up_server(d["args"][0], d))
        rate_limit_retries = backoff.on_exception(
            backoff.runtime, _RateLimited, value=lambda exc: exc.wait, max_tries=MAX_RATE_LIMIT_TRIES,
            jitter=None, logger=None, on_giveup=self._give_up_429,
            on_backoff=lambda d: LOGGER.info("rate limited on %s, waiting %.1fs", d["args"][0], d["wait"]))
        return rate_limit_retries(server_retries(send))

    def _give_up_429(self, details):
        raise RateLimitedError(STATUS_ERRORS[429][1], 429)

    @staticmethod
    def _give_up_server(path, details):
        exc = details["exception"]
        raise ServerError(f"Close did not answer GET {path} successfully after {details['tries']} tries "
                          f"(last: {exc})", exc.status)

    def _pool(self):
        """The urllib3 pool requests' adapter uses for Close's host, with requests' TLS checks
        applied: looked up once (the lookup checks the CA bundle on disk every time), again
        only if the pool is closed under us."""
        pool = self._connection_pool
        if pool is None:
            pool = self._adapter.get_connection_with_tls_context(self._template, self._verify, self._proxies,
                                                                 self._cert)
            self._adapter.cert_verify(pool, self._template.url, self._verify, self._cert)
            self._connection_pool = pool
        return pool

    def _send(self, path: str, params: dict) -> dict:
        if self.cancelled.is_set():
            raise Cancelled(f"GET {path} not sent: the run is stopping")
        group = endpoint_group(path)
        # As requests encodes them: parameters set to None are left out, sequences repeat the key.
        params = {key: value for key, value in params.items() if value is not None}
        target = f"{self._prefix}/{path.strip('/')}/"
        query = urlencode(params, doseq=True)
        if len(query) > MAX_QUERY_LENGTH:
            method, body, headers = "POST", json.dumps({"_params": params}, allow_nan=False).encode(), \
                self._post_headers
        else:
            method, body, headers = "GET", None, self._headers
            if query:
                target = f"{target}?{query}"
        pool = self._pool()
        self.pacer.acquire(group)
        response = None
        LOGGER.debug("%s %s/%s/?%s", method, self.base_url, path.strip("/"), query)
        try:
            with metrics.http_request_timer(path) as tags:
                # The whole body is read (and decompressed) before the connection goes back
                # to the pool for the next request.
                response = pool.urlopen(method, target, body=body, headers=headers, redirect=False,
                                        assert_same_host=False, preload_content=True, decode_content=True,
                                        retries=False, timeout=self._timeout)
                content = response.data
                tags["http_status_code"] = response.status
                tags["status"] = "succeeded" if response.status < 400 else "failed"
        except (Urllib3Error, OSError) as exc:
            # Timeouts, refused or broken connections, TLS and proxy failures, truncated bodies.
            if isinstance(exc, ClosedPoolError):
                self._connection_pool = None
            raise _Retryable(f"{exc.__class__.__name__} on {path}") from None
        finally:
            self.pacer.release(group, response.headers if response is not None else None)
        status = response.status
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
            detail = f"{meaning} on GET {path}" + (f": {message}" if message else "")
            raise exc_class(detail, status)
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise UnexpectedResponseError(f"Close answered GET {path} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise UnexpectedResponseError(
                f"Close answered GET {path} with JSON {type(body).__name__}, expected an object")
        return body

    def check_access(self) -> dict:
        """A cheap authenticated call: raises AuthError when the key is wrong."""
        return self.get("me", {"_fields": "id,email,organizations"})

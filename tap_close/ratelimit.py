"""Close's rate-limit signals, read from each response.

Close limits per endpoint group and says so in a `RateLimit: limit=N, remaining=M, reset=S`
header on most responses. A 429 says how long to wait in `Retry-After`, else in that header's
`reset`, else (before 2024) in the body's `error.rate_reset`.
"""

from __future__ import annotations

import re
import threading
import time

DEFAULT_RETRY_WAIT = 2.0
_PAIR = re.compile(r"(\w+)\s*=\s*([0-9.]+)")


def parse_ratelimit_header(value: str | None) -> dict[str, float]:
    if not value:
        return {}
    return {key.lower(): float(number) for key, number in _PAIR.findall(value)}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and number == number else None


def retry_wait(headers, body) -> float:
    """Seconds to wait after a 429, from the most specific signal Close gave."""
    wait = _number(headers.get("Retry-After"))
    if wait is None:
        wait = parse_ratelimit_header(headers.get("RateLimit")).get("reset")
    if wait is None and isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            wait = _number(error.get("rate_reset"))
        if wait is None:
            wait = _number(body.get("rate_reset"))  # old top-level variant
    if wait is None:
        wait = DEFAULT_RETRY_WAIT
    return max(wait, 0.05)


class Pacer:
    """Holds requests to an endpoint group back while Close says its budget is spent.

    When a response says `remaining=0`, the next request to that group waits `reset`
    seconds instead of provoking a 429. Thread-safe, for concurrent callers.
    """

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._not_before: dict[str, float] = {}

    def wait(self, group: str) -> None:
        with self._lock:
            not_before = self._not_before.get(group, 0.0)
        delay = not_before - self._clock()
        if delay > 0:
            self._sleep(delay)

    def observe(self, group: str, headers) -> None:
        info = parse_ratelimit_header(headers.get("RateLimit"))
        if info.get("remaining") == 0 and info.get("reset"):
            self.hold(group, info["reset"])

    def hold(self, group: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._not_before[group] = max(self._not_before.get(group, 0.0), until)

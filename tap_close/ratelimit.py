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
# How long a caller waiting for a free slot sleeps before it looks whether the run stopped.
SLOT_WAIT_SECONDS = 0.25
# A group that waited for its budget this recently is at its rate limit (at_its_limit).
THROTTLE_MEMORY_SECONDS = 1.0
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


class _Budget:
    __slots__ = ("remaining", "reset_at", "hold_until", "in_flight", "throttled_at")

    def __init__(self):
        self.remaining: float | None = None   # unknown until Close tells us
        self.reset_at = 0.0
        self.hold_until = 0.0
        self.in_flight = 0
        self.throttled_at: float | None = None   # the end of the last wait for the budget


class Pacer:
    """Per endpoint group: at most `max_in_flight` requests in flight, and the budget spent as
    Close reports it, across concurrent callers.

    Every response's `RateLimit: limit=N, remaining=M, reset=S` sets the group's budget to
    M, less the requests still in flight (they were sent but not yet counted in M); each
    request sent spends one. With the budget spent, callers wait until the window resets
    instead of provoking 429s; after a 429 the whole group waits as long as Close asked.
    The in-flight limit keeps one group's callers (a stream's windows, planning probes, event
    replays refetching records) from holding more connections than the run allows.
    """

    def __init__(self, clock=time.monotonic, sleep=time.sleep, max_in_flight: int | None = None):
        self._clock = clock
        self._sleep = sleep          # may raise to abandon the wait (the client's is cancellable)
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._slot_freed = threading.Condition(self._lock)
        self._budgets: dict[str, _Budget] = {}

    def _budget(self, group: str) -> _Budget:
        budget = self._budgets.get(group)
        if budget is None:
            budget = self._budgets[group] = _Budget()
        return budget

    def acquire(self, group: str) -> None:
        """Wait until a request to `group` may be sent, and count it as sent."""
        while True:
            with self._lock:
                budget, now = self._budget(group), self._clock()
                if self.max_in_flight is not None and budget.in_flight >= self.max_in_flight:
                    # Woken by a release; the timeout lets a cancelled run notice (below).
                    self._slot_freed.wait(SLOT_WAIT_SECONDS)
                    delay = 0.0
                elif budget.hold_until > now:
                    delay = budget.hold_until - now
                    budget.throttled_at = budget.hold_until
                elif budget.remaining is not None and budget.remaining < 1 and budget.reset_at > now:
                    delay = budget.reset_at - now
                    budget.throttled_at = budget.reset_at
                else:
                    if budget.remaining is not None:
                        budget.remaining = budget.remaining - 1 if budget.reset_at > now else None
                    budget.in_flight += 1
                    return
            self._sleep(delay)

    def at_its_limit(self, group: str, within: float = THROTTLE_MEMORY_SECONDS) -> bool:
        """Whether `group` spent its whole budget lately (a wait for it ended less than `within`
        seconds ago, or has not ended): more requests at once would only wait."""
        with self._lock:
            throttled_at = self._budget(group).throttled_at
            return throttled_at is not None and self._clock() - throttled_at < within

    def in_flight(self, group: str) -> int:
        with self._lock:
            return self._budget(group).in_flight

    def release(self, group: str, headers) -> None:
        """A response (or a failure) for a request counted by `acquire`."""
        info = parse_ratelimit_header(headers.get("RateLimit") if headers is not None else None)
        with self._lock:
            budget = self._budget(group)
            budget.in_flight = max(0, budget.in_flight - 1)
            if "remaining" in info and "reset" in info:
                budget.remaining = info["remaining"] - budget.in_flight
                budget.reset_at = self._clock() + info["reset"]
            self._slot_freed.notify_all()

    def hold(self, group: str, seconds: float) -> None:
        with self._lock:
            budget = self._budget(group)
            budget.hold_until = max(budget.hold_until, self._clock() + seconds)

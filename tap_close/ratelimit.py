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
# A refilled budget this close to a whole request counts as one (float sums of tiny refills
# would otherwise wait for ever smaller fractions).
ROUNDING = 1e-6
# A group that waited for its budget this recently is at its rate limit (at_its_limit).
THROTTLE_MEMORY_SECONDS = 0.3
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
    __slots__ = ("remaining", "limit", "rate", "updated_at", "reset_at", "hold_until", "in_flight",
                 "throttled_at", "refills")

    def __init__(self):
        self.remaining: float | None = None   # unknown until Close tells us
        self.limit: float | None = None
        self.rate: float | None = None        # tokens per second the budget comes back at
        self.updated_at = 0.0
        self.reset_at = 0.0
        self.hold_until = 0.0
        self.in_flight = 0
        self.throttled_at: float | None = None   # the end of the last wait for the budget
        # Close calls its limits buckets, and its `reset` "seconds until the window resets":
        # the budget is taken to come back steadily over `reset` (a token bucket) until a 429
        # proves it does not (a fixed window); then the group waits for the whole reset.
        self.refills = True

    def refill(self, now: float) -> None:
        if self.remaining is None:
            return
        if self.refills and self.rate and self.limit is not None:
            self.remaining = min(self.limit, self.remaining + self.rate * (now - self.updated_at))
            self.updated_at = now
        elif now >= self.reset_at:
            self.remaining = None   # the window is over: a new budget, told by the next answer

    def wait(self, now: float) -> float:
        """Seconds until one more request may go (0: now)."""
        if self.remaining is None or self.remaining >= 1 - ROUNDING:
            return 0.0
        if self.refills and self.rate:
            return (1 - self.remaining) / self.rate
        return max(0.0, self.reset_at - now)


class Pacer:
    """Per endpoint group: at most `max_in_flight` requests in flight, and the budget spent as
    Close reports it, across concurrent callers.

    Every response's `RateLimit: limit=N, remaining=M, reset=S` sets the group's budget to
    M, less the requests still in flight (they were sent but not yet counted in M); each
    request sent spends one, and the budget comes back at (N - M) / S a second, as a token
    bucket's does (a budget spent and then waited out whole would leave the group idle for
    most of the wait). With the budget spent, callers wait for the next token instead of
    provoking 429s; after a 429 the whole group waits as long as Close asked, and from then
    on for the whole reset whenever its budget is spent.
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
                else:
                    budget.refill(now)
                    delay = budget.wait(now)
                    if delay <= 0:
                        if budget.remaining is not None:
                            budget.remaining -= 1
                        budget.in_flight += 1
                        return
                    budget.throttled_at = now + delay
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
                now = self._clock()
                budget.remaining = info["remaining"] - budget.in_flight
                budget.reset_at = now + info["reset"]
                budget.updated_at = now
                if "limit" in info:
                    budget.limit = info["limit"]
                    spent = info["limit"] - info["remaining"]
                    # No rate to read from a full budget (nothing to come back) or a reset of 0.
                    budget.rate = spent / info["reset"] if spent > 0 and info["reset"] > 0 else budget.rate
            self._slot_freed.notify_all()

    def hold(self, group: str, seconds: float) -> None:
        """After a 429: nothing goes for `seconds`, and the budget is no longer taken to come
        back before its reset."""
        with self._lock:
            budget = self._budget(group)
            budget.hold_until = max(budget.hold_until, self._clock() + seconds)
            budget.refills = False

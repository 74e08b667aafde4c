"""Per API key, per endpoint-group token buckets (reference section 6).

A bucket holds up to `burst` tokens and refills at `rate` tokens/s; each
request takes one. The RateLimit header reports limit=burst,
remaining=floor(tokens left), reset=ceil(seconds until full again)."""
import hashlib
import math
import threading
import time

# Header sent when limiting is off: generous, and never remaining=0.
UNLIMITED = (1000, 999, 1)


def group_hex(group):
    """rate_endpoint_group in the legacy 429 body: a 32-hex id per group."""
    return hashlib.md5(("close-sandbox:" + group).encode()).hexdigest()


class Decision:
    __slots__ = ("allowed", "limit", "remaining", "reset", "retry_after", "rate", "burst")

    def header(self):
        return "limit=%d, remaining=%d, reset=%d" % (self.limit, self.remaining, self.reset)


class RateLimits:
    def __init__(self, rate=None, burst=None, body="legacy", retry_after_header=True):
        self._lock = threading.Lock()
        self._default = self._norm(rate, burst)
        self._groups = {}
        self._buckets = {}
        self.body = body                      # "legacy" | "empty"
        self.retry_after_header = retry_after_header

    @staticmethod
    def _norm(rate, burst):
        if rate is None:
            return None
        rate = float(rate)
        if rate <= 0:
            raise ValueError("rate must be > 0 (or None to disable)")
        burst = int(burst) if burst is not None else max(1, int(math.ceil(rate)))
        return rate, max(1, burst)

    def configure(self, group=None, rate=20, burst=20, body=None, retry_after_header=None):
        """group=None sets the default for every group (and drops per-group
        settings); rate=None disables limiting. Buckets restart full."""
        with self._lock:
            cfg = self._norm(rate, burst)
            if group is None:
                self._default = cfg
                self._groups.clear()
                self._buckets.clear()
            else:
                self._groups[group] = cfg
                self._buckets = {k: v for k, v in self._buckets.items() if k[1] != group}
            if body is not None:
                self.body = body
            if retry_after_header is not None:
                self.retry_after_header = retry_after_header

    def config(self, group):
        return self._groups.get(group, self._default)

    def take(self, key, group, consume=True):
        d = Decision()
        cfg = self.config(group)
        if cfg is None:
            d.allowed, (d.limit, d.remaining, d.reset) = True, UNLIMITED
            d.retry_after, d.rate, d.burst = 0, None, UNLIMITED[0]
            return d
        rate, burst = cfg
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get((key, group), (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if consume and tokens >= 1.0:
                tokens -= 1.0
                d.allowed = True
            else:
                d.allowed = not consume
            self._buckets[(key, group)] = (tokens, now)
        d.limit, d.rate, d.burst = burst, rate, burst
        d.remaining = 0 if not d.allowed else int(math.floor(tokens))
        d.reset = int(math.ceil(max(0.0, burst - tokens) / rate))
        d.retry_after = max(0.0, 1.0 - tokens) / rate
        return d

"""The tap's exceptions. Every failure a user can cause or meet is one of these, so the
command line can print one clear line and exit non-zero instead of a traceback."""

from __future__ import annotations


class TapCloseError(Exception):
    """A failure explained in one line."""


class ConfigError(TapCloseError):
    """The config file is missing, unreadable or has a bad value."""


class InputError(TapCloseError):
    """The state or catalog file is missing, unreadable or malformed."""


class CloseAPIError(TapCloseError):
    """Close answered with an error, or with something that is not Close's envelope."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class BadRequestError(CloseAPIError):
    """400: Close rejected the query (bad filter, `_limit` or `_skip` beyond its maximum)."""


class AuthError(CloseAPIError):
    """401/403: the API key is wrong, revoked or lacks permission. Never retried."""


class NotFoundError(CloseAPIError):
    """404: unknown URL or object; on a list page, a record deleted while paging."""


class RateLimitedError(CloseAPIError):
    """429 that outlived the retries."""


class ServerError(CloseAPIError):
    """5xx or a broken connection that outlived the retries."""


class UnexpectedResponseError(CloseAPIError):
    """A 2xx whose body is not the JSON shape Close documents."""


class Terminated(TapCloseError):
    """SIGTERM (Meltano's `--timeout`, a scheduler stopping the job) or SIGINT (Ctrl-C)."""

    def __init__(self, message: str, signal_name: str = "SIGTERM"):
        super().__init__(message)
        # The shell's convention: 128 + the signal's number.
        self.exit_code = 130 if signal_name == "SIGINT" else 143


class Cancelled(TapCloseError):
    """A request not sent, or a wait abandoned, because the run is stopping (a failure that
    stops every stream, or a signal)."""


class StreamsFailed(TapCloseError):
    """Some streams failed (each logged as it happened); every other one was synced and
    bookmarked. Raised after the final STATE; `failures` maps each stream to its reason."""

    def __init__(self, failures: dict[str, str]):
        super().__init__(f"{len(failures)} stream(s) failed: {', '.join(failures)}")
        self.failures = dict(failures)

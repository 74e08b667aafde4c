"""Config validation: every key is checked at start and named in the error."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse

from . import __version__
from .errors import ConfigError
from .logs import DEFAULT_LEVEL, LEVELS
from .timeutil import now_utc, parse_start_date

DEFAULT_BASE_URL = "https://api.close.com/api/v1"
DEFAULT_TIMEOUT = 300.0
DEFAULT_LOOKBACK_HOURS = 24.0
DEFAULT_USER_AGENT = f"tap-close/{__version__}"
# Requests in flight at once. Close limits each endpoint group separately, so a few per
# group keep every limit busy even at 100+ ms latency; 1 reads one page at a time.
DEFAULT_MAX_CONCURRENCY = 8


@dataclass(frozen=True)
class Config:
    api_key: str
    start_date: datetime
    base_url: str = DEFAULT_BASE_URL
    user_agent: str = DEFAULT_USER_AGENT
    request_timeout: float = DEFAULT_TIMEOUT
    activities_lookback_hours: float = DEFAULT_LOOKBACK_HOURS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    emit_deletes: bool = True
    late_activity_edits: bool = True
    log_level: str = DEFAULT_LEVEL
    # Off by default: one METRIC line per request would make a long run's log mostly metrics.
    request_metrics: bool = False

    def __repr__(self) -> str:  # never show the key, even in a debugger or a log
        return f"Config(start_date={self.start_date.isoformat()}, base_url={self.base_url!r})"


def load_json_file(path: str, what: str, error: type[Exception]):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise error(f"{what} file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} file {path} is unreadable: {exc.__class__.__name__}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno})") from None


def _number(raw, key: str, default: float, minimum: float, allow_zero_default: bool) -> float:
    # Meltano passes settings without a kind as strings, and singer-io taps treat 0/""/absent
    # request_timeout as "use the default": accept the same.
    if raw is None or raw == "" or (allow_zero_default and raw in (0, "0", 0.0)):
        return default
    if isinstance(raw, bool):
        raise ConfigError(f"config key '{key}' must be a number, not a boolean")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"config key '{key}' must be a number, got {raw!r}") from None
    if value != value or value < minimum:
        raise ConfigError(f"config key '{key}' must be at least {minimum:g}, got {raw!r}")
    return value


def _whole(raw, key: str, default: int, minimum: int, maximum: int) -> int:
    value = _number(raw, key, default, minimum, False)
    if value != int(value) or value > maximum:
        raise ConfigError(f"config key '{key}' must be a whole number from {minimum} to {maximum}, got {raw!r}")
    return int(value)


def _boolean(raw, key: str, default: bool) -> bool:
    # Meltano may pass booleans as strings.
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise ConfigError(f"config key '{key}' must be true or false, got {raw!r}")


def _log_level(raw) -> str:
    if raw is None or raw == "":
        return DEFAULT_LEVEL
    if not isinstance(raw, str) or raw.strip().upper() not in LEVELS:
        raise ConfigError(f"config key 'log_level' must be one of {', '.join(LEVELS)}, got {raw!r}")
    return raw.strip().upper()


def parse_config(raw) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    api_key = raw.get("api_key")
    if api_key is None or api_key == "":
        raise ConfigError("config key 'api_key' is required (your Close API key)")
    if not isinstance(api_key, str) or not api_key.strip() or any(c.isspace() for c in api_key):
        raise ConfigError("config key 'api_key' must be a non-empty string without spaces")
    start_raw = raw.get("start_date")
    if start_raw in (None, ""):
        raise ConfigError("config key 'start_date' is required (e.g. \"2024-01-01\")")
    if not isinstance(start_raw, str):
        raise ConfigError("config key 'start_date' must be a string such as \"2024-01-01\"")
    try:
        start_date = parse_start_date(start_raw)
    except ValueError:
        raise ConfigError(
            f"config key 'start_date' is not a date: {start_raw!r} "
            "(use ISO 8601 like 2024-01-31 or 2024-01-31T00:00:00Z, or MM/DD/YYYY)") from None
    if start_date > now_utc():
        raise ConfigError(f"config key 'start_date' is in the future: {start_raw!r}")
    base_url = raw.get("base_url") or DEFAULT_BASE_URL
    parsed = urlparse(base_url) if isinstance(base_url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"config key 'base_url' must be an http(s) URL, got {base_url!r}")
    user_agent = raw.get("user_agent") or DEFAULT_USER_AGENT
    if not isinstance(user_agent, str):
        raise ConfigError("config key 'user_agent' must be a string")
    return Config(
        api_key=api_key,
        start_date=start_date,
        base_url=base_url.rstrip("/"),
        user_agent=user_agent,
        request_timeout=_number(raw.get("request_timeout"), "request_timeout", DEFAULT_TIMEOUT, 0.001, True),
        activities_lookback_hours=_number(raw.get("activities_lookback_hours"), "activities_lookback_hours",
                                          DEFAULT_LOOKBACK_HOURS, 0, False),
        max_concurrency=_whole(raw.get("max_concurrency"), "max_concurrency", DEFAULT_MAX_CONCURRENCY, 1, 32),
        emit_deletes=_boolean(raw.get("emit_deletes"), "emit_deletes", True),
        late_activity_edits=_boolean(raw.get("late_activity_edits"), "late_activity_edits", True),
        log_level=_log_level(raw.get("log_level")),
        request_metrics=_boolean(raw.get("request_metrics"), "request_metrics", False),
    )


def load_config(path: str) -> Config:
    return parse_config(load_json_file(path, "config", ConfigError))

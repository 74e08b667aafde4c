"""`--about`: what the tap is and which settings it takes, as text, JSON or Markdown."""

from __future__ import annotations

import json

from . import __version__
from .config import DEFAULT_BASE_URL, DEFAULT_LOOKBACK_HOURS, DEFAULT_MAX_CONCURRENCY, DEFAULT_TIMEOUT
from .logs import DEFAULT_LEVEL, LEVEL_ENV, LEVELS, REQUEST_METRICS_ENV

SETTINGS = {
    "type": "object",
    "required": ["api_key", "start_date"],
    "properties": {
        "api_key": {"type": "string", "secret": True,
                    "description": "Close API key (Settings → Developer → API Keys)."},
        "start_date": {"type": "string", "format": "date-time",
                       "description": "Replicate records changed or created since this date "
                                      "(ISO 8601 date or date-time, or MM/DD/YYYY; naive means UTC)."},
        "base_url": {"type": "string", "default": DEFAULT_BASE_URL,
                     "description": "Close API root; change only for a proxy or a test sandbox."},
        "user_agent": {"type": "string",
                       "description": "User-Agent sent to Close, ideally with a contact e-mail."},
        "request_timeout": {"type": "number", "default": DEFAULT_TIMEOUT,
                            "description": "Seconds to wait for a response before retrying."},
        "activities_lookback_hours": {"type": "number", "default": DEFAULT_LOOKBACK_HOURS,
                                      "description": "Hours of activities re-read before the bookmark "
                                                     "to catch recent edits."},
        "max_concurrency": {"type": "integer", "default": DEFAULT_MAX_CONCURRENCY, "minimum": 1, "maximum": 32,
                            "description": "Requests in flight at once, across streams and date windows "
                                           "(1 reads one page at a time)."},
        "emit_deletes": {"type": "boolean", "default": True,
                         "description": "Emit a record with `_sdc_deleted_at` for each lead, contact, opportunity, "
                                        "task or activity deleted in Close (from the event log)."},
        "late_activity_edits": {"type": "boolean", "default": True,
                                "description": "Fetch again, through the event log, activities edited after "
                                               "the lookback window."},
        "log_level": {"type": "string", "default": DEFAULT_LEVEL, "enum": list(LEVELS),
                      "description": f"Lowest level of the lines logged to stderr ({', '.join(LEVELS)}); "
                                     f"the environment variable {LEVEL_ENV} overrides it."},
        "request_metrics": {"type": "boolean", "default": False,
                            "description": "Log a Singer `http_request_duration` METRIC line for every "
                                           "HTTP request (per-stream `record_count` metrics are always "
                                           f"logged); the environment variable {REQUEST_METRICS_ENV} "
                                           "overrides it."},
    },
}
CAPABILITIES = ["catalog", "discover", "state", "about"]
DESCRIPTION = "Singer tap for the Close CRM API (close.com)."


def about(fmt: str) -> str:
    info = {
        "name": "tap-close",
        "description": DESCRIPTION,
        "version": __version__,
        "supported_python_versions": ["3.11", "3.12"],
        "capabilities": CAPABILITIES,
        "settings": SETTINGS,
    }
    if fmt == "json":
        return json.dumps(info, indent=2)
    if fmt == "markdown":
        lines = [f"# tap-close {__version__}", "", DESCRIPTION, "", "## Capabilities", ""]
        lines += [f"- `{c}`" for c in CAPABILITIES]
        lines += ["", "## Settings", "", "| Setting | Required | Default | Description |", "|---|---|---|---|"]
        for name, spec in SETTINGS["properties"].items():
            required = "yes" if name in SETTINGS["required"] else "no"
            lines.append(f"| {name} | {required} | {spec.get('default', '')} | {spec['description']} |")
        return "\n".join(lines)
    lines = [f"tap-close {__version__}: {DESCRIPTION}", f"Capabilities: {', '.join(CAPABILITIES)}", "Settings:"]
    for name, spec in SETTINGS["properties"].items():
        flag = " (required)" if name in SETTINGS["required"] else ""
        lines.append(f"  {name}{flag}: {spec['description']}")
    return "\n".join(lines)

"""Logging to stderr, Singer style (`LEVEL message`), with the API key scrubbed from every
line whatever logger wrote it."""

from __future__ import annotations

import base64
import logging
import os
import sys

FORMAT = "%(levelname)s %(message)s"


class RedactSecrets(logging.Filter):
    def __init__(self):
        super().__init__()
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.append(base64.b64encode(f"{secret}:".encode()).decode())

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                message = message.replace(secret, "<redacted>")
                if record.exc_text:
                    record.exc_text = record.exc_text.replace(secret, "<redacted>")
            record.msg, record.args = message, None
        return True


REDACTOR = RedactSecrets()


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(REDACTOR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = os.environ.get("TAP_CLOSE_LOG_LEVEL", "INFO").upper()
    root.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO")
    # requests' connection pool chatter is not ours to show at debug level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)

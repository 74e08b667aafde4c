"""tap-close: a Singer tap for the Close CRM API."""

__version__ = "0.1.0"

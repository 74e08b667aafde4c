"""The `tap-close` command: parse arguments, then discover, test the connection or sync.

Every failure the tap anticipates (bad config, state or catalog, a Close error that outlived
the retries) ends as one `CRITICAL` line on stderr and exit status 1, never a traceback and
never the API key. A Close error in one stream fails that stream only: the others run to
their end, then one `CRITICAL` line per failed stream, exit status 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys

from . import __version__
from .about import about
from .catalog import select_defaults, selected_streams
from .client import MAX_SERVER_TRIES, CloseClient, endpoint_group
from .config import load_config, load_json_file
from .discover import discover
from .errors import InputError, StreamsFailed, TapCloseError, Terminated
from .logs import REDACTOR, apply_settings, setup_logging
from .memory import limit_heap_growth
from .output import SingerWriter
from .state import State
from .streams import STREAMS
from .summary import RunSummary
from .sync import TERMINATED, request_stop, sync

LOGGER = logging.getLogger("tap_close")
README = "README.md in the tap-close source distribution (setup, settings, streams, recipes)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-close",
        description="Singer tap for Close CRM: writes SCHEMA, RECORD and STATE messages to stdout, logs to stderr.",
        epilog=f"Streams: {', '.join(STREAMS)}. Full guide: {README}",
    )
    parser.add_argument("-c", "--config", help="config JSON file: api_key, start_date and optional settings "
                                               "(see --about)")
    parser.add_argument("-s", "--state", help="state JSON file from a previous run (its last STATE message's "
                                              "value) to sync incrementally")
    parser.add_argument("--catalog", help="catalog JSON file (from --discover, with streams and fields selected)")
    parser.add_argument("-p", "--properties", help="legacy name for --catalog")
    parser.add_argument("-d", "--discover", action="store_true", help="print the catalog to stdout and exit")
    parser.add_argument("--test", action="store_true",
                        help="check the API key and the connection to Close, then exit (0 = OK)")
    parser.add_argument("--summary-json", metavar="FILE",
                        help="after a sync, also write the run summary (per stream: status, records, deletion "
                             "records, requests, 429s, seconds, bookmark, reason) to FILE as JSON, even when "
                             "the run fails")
    parser.add_argument("--about", action="store_true", help="describe the tap and its settings, then exit")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="output format of --about (default text)")
    parser.add_argument("--version", action="version", version=f"tap-close {__version__}")
    return parser


def run(args) -> int:
    if args.about:
        print(about(args.format))
        return 0
    if not args.config:
        raise InputError("--config is required (a JSON file with at least api_key and start_date)")
    config = load_config(args.config)
    REDACTOR.add(config.api_key)
    apply_settings(config.log_level, config.request_metrics)
    # A connection check should answer quickly: one retry, not the sync's patient budget.
    client = CloseClient(config, max_server_tries=2 if args.test else MAX_SERVER_TRIES,
                         endpoint_groups=len({endpoint_group(stream.path) for stream in STREAMS.values()}))
    if args.test:
        me = client.check_access()
        orgs = [o.get("id") for o in me.get("organizations") or [] if isinstance(o, dict)]
        print(f"OK: connected to {config.base_url} as {me.get('email') or me.get('id')}"
              + (f" (organization {', '.join(orgs)})" if orgs else ""))
        return 0
    if args.discover:
        catalog = discover(client)
        json.dump(catalog, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    catalog_path = args.catalog or args.properties
    state = State(load_json_file(args.state, "state", InputError) if args.state else None)
    if catalog_path:
        catalog = load_json_file(catalog_path, "catalog", InputError)
    else:
        LOGGER.info("no catalog given: discovering and syncing every stream")
        catalog = select_defaults(discover(client))
    selected = selected_streams(catalog, STREAMS)
    if not selected:
        LOGGER.warning("the catalog selects no stream; nothing to sync")
    writer = SingerWriter()
    summary = RunSummary()
    try:
        sync(client, config, selected, state, writer, summary)
    finally:
        if args.summary_json:
            write_summary(args.summary_json, summary)
    return 0


def write_summary(path: str, summary: RunSummary) -> None:
    """Written whole or not at all (a temporary file renamed), so an alert never reads half."""
    temporary = f"{path}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(summary.to_json(), handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except OSError as exc:
        LOGGER.error("could not write the run summary to %s: %s", path, exc.strerror or exc)


def _terminate(signum, frame):
    # Raising here could abort a write halfway through a line (Python runs handlers inside
    # an interrupted write). A running sync is asked to stop instead: it stops between two
    # lines and prints a final true STATE. Anything else stops at once.
    name = signal.Signals(signum).name
    if not request_stop(name):
        raise Terminated(TERMINATED.format(signal=name), name)


def main(argv=None) -> int:
    limit_heap_growth()
    setup_logging()
    args = build_parser().parse_args(argv)
    previous = {signum: signal.signal(signum, _terminate) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        return run(args)
    except Terminated as exc:
        LOGGER.critical("%s", exc)
        return exc.exit_code
    except StreamsFailed as exc:
        # The other streams were synced and their STATE printed; one line per failed stream,
        # with what Close said, for whoever reads the cron log or the orchestrator's alert.
        for stream, reason in exc.failures.items():
            LOGGER.critical("%s failed: %s", stream, reason)
    except TapCloseError as exc:
        LOGGER.critical("%s", exc)
    except KeyboardInterrupt:
        LOGGER.critical("interrupted")
        return 130
    except BrokenPipeError:
        # The target went away; nothing more can be delivered (stderr still works).
        LOGGER.critical("the output pipe was closed by the reader")
        return 1
    except Exception as exc:  # last resort: one line, no traceback, key redacted by the filter
        LOGGER.critical("unexpected %s: %s (set TAP_CLOSE_LOG_LEVEL=DEBUG for details)",
                        exc.__class__.__name__, exc)
        LOGGER.debug("traceback", exc_info=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1


def console() -> None:
    """The `tap-close` command. Once every line is written and flushed there is nothing left to
    do, so the process ends there: it does not wait for a worker still waiting on a slow answer
    from Close after a stop by signal (up to `request_timeout`), nor for the interpreter to
    free a large run's objects one by one (about 0.3 s after a backfill, measured by the bench)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    console()

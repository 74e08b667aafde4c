"""End to end into real Singer targets, each installed from the registry into its own
virtualenv, with every stream selected (what `meltano select tap-close '*.*'` does) on the
sandbox's full variety of shapes: the rows in each destination must equal the records the tap
emitted, and an incremental run must upsert (not duplicate) where the target supports keys.
A field whose type Close changes in the middle of a run must keep every target working."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from expectations import ALL_STREAMS as STREAMS
from postgres import postgres_server
from tap_runner import write_json
from tools import bin_path, install_all, pipe, tool_venv

TAP = [sys.executable, "-m", "tap_close"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def tools():
    install_all(["target-jsonl", "target-csv", "target-duckdb", "target-postgres", "singer-tools"])


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=41, leads=60, activities_per_lead=3, events=150, days=240)


def tap_config(tmp_path, sb):
    return write_json(tmp_path / "tap.json", {"api_key": sb.api_key, "start_date": "2026-01-01",
                                               "base_url": sb.url})


def tap_argv(tmp_path, sb):
    """The tap with every stream selected: discovery, then demo/select_all.py's selection."""
    config = tap_config(tmp_path, sb)
    catalog = json.loads(subprocess.run(TAP + ["--config", config, "--discover"], capture_output=True,
                                        text=True, check=True).stdout)
    selected = subprocess.run([sys.executable, str(ROOT / "demo" / "select_all.py")], input=json.dumps(catalog),
                              capture_output=True, text=True, check=True).stdout
    return TAP + ["--config", config, "--catalog", write_json(tmp_path / "selected.json", json.loads(selected))]


def _psql(host, port, user, query):
    out = subprocess.run(["psql", "-h", host, "-p", str(port), "-U", user, "-d", "postgres", "-At", "-F", "\t",
                          "-c", query], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def _postgres_config(path, host, port, user, **settings):
    """meltanolabs-target-postgres on the suite's server, upserting into schema tap_close."""
    return write_json(path, {"host": host, "port": port, "user": user, "password": "unused-trust-auth",
                             "database": "postgres", "default_target_schema": "tap_close", "load_method": "upsert",
                             **settings})


def run_pipeline(tmp_path, sb, target_argv, state=None, name="run"):
    """tap | target; returns the tap's messages (captured separately) and the target's state."""
    argv = tap_argv(tmp_path, sb)
    if state is not None:
        argv += ["--state", write_json(tmp_path / f"{name}-state.json", state)]
    (tap_code, tap_err), (code, out, err) = pipe(argv, target_argv, cwd=tmp_path)
    assert code == 0, err[-3000:]
    assert tap_code == 0, tap_err[-2000:]
    lines = [line for line in out.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def emitted(tmp_path, sb, state=None):
    """What the tap emits for this org and state (it is deterministic between mutations)."""
    argv = tap_argv(tmp_path, sb)
    if state is not None:
        argv += ["--state", write_json(tmp_path / "emit-state.json", state)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    records = {s: [] for s in STREAMS}
    for line in out.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return records, out


def test_target_jsonl_rows_equal_records(org, tmp_path):
    expected, _ = emitted(tmp_path, org)
    config = write_json(tmp_path / "t.json", {"destination_path": str(tmp_path / "out"), "do_timestamp_file": False})
    state = run_pipeline(tmp_path, org, [bin_path("target-jsonl", "target-jsonl"), "--config", config])
    assert state and state["currently_syncing"] is None and set(state["bookmarks"]) == set(STREAMS)  # full-table streams keep their version
    for stream in STREAMS:
        assert expected[stream], f"the org should give {stream} records to compare"
        rows = [json.loads(l) for l in (tmp_path / "out" / f"{stream}.jsonl").read_text().splitlines()]
        assert sorted(rows, key=lambda r: r["id"]) == sorted(expected[stream], key=lambda r: r["id"]), stream


def test_target_csv_rows_equal_records(org, tmp_path):
    expected, _ = emitted(tmp_path, org)
    config = write_json(tmp_path / "t.json", {"output_path": str(tmp_path / "out")})
    run_pipeline(tmp_path, org, [bin_path("target-csv", "target-csv"), "--config", config])
    for stream in STREAMS:
        with open(tmp_path / "out" / f"{stream}.csv", newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in expected[stream]), stream
        if stream == "users":
            by_id = {r["id"]: r for r in rows}
            assert all(by_id[u["id"]]["email"] == u["email"] for u in expected["users"])


def _duckdb_rows(path, stream, columns):
    script = ("import duckdb, json, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
              "print(json.dumps(c.execute(sys.argv[2]).fetchall(), default=str))")
    query = f'select {", ".join(columns)} from main.{stream}'
    out = subprocess.run([str(tool_venv("target-duckdb") / "bin" / "python"), "-c", script, str(path), query],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _upsert_scenario(tmp_path, org, target_argv, fetch):
    """Full run, a change at Close, an incremental run: rows = distinct ids, changes applied."""
    first, _ = emitted(tmp_path, org)
    state = run_pipeline(tmp_path, org, target_argv, name="full")
    for stream in STREAMS:
        assert sorted(r[0] for r in fetch(stream, ["id"])) == sorted(r["id"] for r in first[stream]), stream
    lead = first["leads"][0]
    org.update_lead(lead["id"], description="upserted description")
    second, _ = emitted(tmp_path, org, state)
    assert lead["id"] in {r["id"] for r in second["leads"]}
    run_pipeline(tmp_path, org, target_argv, state=state, name="incremental")
    for stream in STREAMS:
        ids = [r[0] for r in fetch(stream, ["id"])]
        assert len(ids) == len(set(ids)), f"{stream}: duplicated rows instead of upserts"
        assert set(ids) == {r["id"] for r in first[stream]} | {r["id"] for r in second[stream]}, stream
    descriptions = dict(fetch("leads", ["id", "description"]))
    assert descriptions[lead["id"]] == "upserted description"


def test_target_duckdb_upserts(org, tmp_path):
    db = tmp_path / "close.duckdb"
    # Without metadata columns, target-duckdb 0.8.0 drops the first row of a table whose columns
    # are all text (lead_statuses): duckdb's CSV sniffer takes it for a header.
    config = write_json(tmp_path / "t.json", {"path": str(db), "default_target_schema": "main",
                                              "add_metadata_columns": True})
    _upsert_scenario(tmp_path, org, [bin_path("target-duckdb", "target-duckdb"), "--config", config],
                     lambda stream, columns: _duckdb_rows(db, stream, columns))


def test_target_postgres_upserts(org, tmp_path):
    with postgres_server() as (host, port, user):
        config = _postgres_config(tmp_path / "t.json", host, port, user,
                                  add_record_metadata=False, activate_version=False)

        def fetch(stream, columns):
            return _psql(host, port, user, f'select {", ".join(columns)} from tap_close.{stream}')

        _upsert_scenario(tmp_path, org, [bin_path("target-postgres", "target-postgres"), "--config", config],
                         fetch)


@pytest.mark.parametrize("record_metadata", [True, False])
def test_deletions_keep_the_row_in_postgres(sandbox_factory, tmp_path, record_metadata):
    """Deletion records into meltanolabs-target-postgres. With its record metadata on, the row
    of a record deleted in Close carries `_sdc_deleted_at` and the live rows are exactly what
    Close still has. Either way (without metadata the target strips `_sdc_deleted_at` and
    upserts the rest), the deleted row keeps its last values from the event's `previous_data`
    instead of being blanked."""
    sb = sandbox_factory(seed=47, leads=40, activities_per_lead=3, events=100, days=200)
    with postgres_server() as (host, port, user):
        config = _postgres_config(tmp_path / "t.json", host, port, user,
                                  add_record_metadata=record_metadata, activate_version=False)
        target = [bin_path("target-postgres", "target-postgres"), "--config", config]

        def ids(stream, where):
            return {row[0] for row in _psql(host, port, user, f"select id from tap_close.{stream} where {where}")}

        state = run_pipeline(tmp_path, sb, target, name="full")
        lead = next(l for l in sb.store.records("lead") if l["opportunities"])
        opportunity = next(o for o in sb.store.records("opportunity") if o["lead_id"] != lead["id"])
        before = {stream: ids(stream, "true") for stream in ("leads", "opportunities", "activities")}
        assert lead["id"] in before["leads"] and opportunity["id"] in before["opportunities"]
        sb.delete_lead(lead["id"])
        sb.delete_child("opportunity", opportunity["id"])
        run_pipeline(tmp_path, sb, target, state=state, name="incremental")
        # Not blanked: the deleted rows still say what they were.
        assert _psql(host, port, user, f"select name, status_id from tap_close.leads where id = '{lead['id']}'") \
            == [(lead["name"], lead["status_id"])]
        assert _psql(host, port, user, f"select lead_id, status_id from tap_close.opportunities "
                                       f"where id = '{opportunity['id']}'") \
            == [(opportunity["lead_id"], opportunity["status_id"])]
        if not record_metadata:
            return
        deleted_opportunities = {o["id"] for o in lead["opportunities"]} | {opportunity["id"]}
        assert ids("leads", "_sdc_deleted_at is not null") == {lead["id"]}
        assert ids("opportunities", "_sdc_deleted_at is not null") >= deleted_opportunities
        for stream, kind in (("leads", "lead"), ("opportunities", "opportunity"), ("activities", "activity")):
            live = {r["id"] for r in sb.store.records(kind)}
            assert ids(stream, "_sdc_deleted_at is null") == before[stream] & live, stream
            assert before[stream] - live, f"{stream}: something should have been deleted"


def test_singer_check_tap_accepts_the_output(org, tmp_path):
    _, out = emitted(tmp_path, org)
    check = subprocess.run([bin_path("singer-tools", "singer-check-tap")], input=out, capture_output=True,
                           text=True, cwd=tmp_path)
    assert check.returncode == 0, (check.stdout + check.stderr)[-3000:]
    assert "leads" in check.stdout


@pytest.mark.parametrize("hard_delete", [True, False])
def test_full_table_rows_deleted_in_close_leave_postgres(sandbox_factory, tmp_path, hard_delete):
    """ACTIVATE_VERSION into meltanolabs-target-postgres (which needs `add_record_metadata` for
    it): a lead status deleted in Close disappears (`hard_delete`) or gets `_sdc_deleted_at`."""
    sb = sandbox_factory(seed=59, leads=15, activities_per_lead=2, events=30, days=90)
    with postgres_server() as (host, port, user):
        config = _postgres_config(tmp_path / "t.json", host, port, user,
                                  add_record_metadata=True, activate_version=True, hard_delete=hard_delete)
        target = [bin_path("target-postgres", "target-postgres"), "--config", config]
        state = run_pipeline(tmp_path, sb, target, name="full")
        statuses = {row[0] for row in _psql(host, port, user, "select id from tap_close.lead_statuses")}
        assert statuses == {s["id"] for s in sb.store.ctx.lead_statuses} and len(statuses) > 1
        # Close has no API to delete a status through the sandbox's HTTP surface: take it out of
        # the organization the sandbox serves, as a user deleting it in Close's settings would.
        gone = sb.store.ctx.lead_statuses.pop()
        run_pipeline(tmp_path, sb, target, state=state, name="second")
        rows = dict(_psql(host, port, user, "select id, coalesce(_sdc_deleted_at::text, '') "
                                            "from tap_close.lead_statuses"))
        kept = {s["id"] for s in sb.store.ctx.lead_statuses}
        assert kept and all(rows[i] == "" for i in kept), "statuses still in Close stay live"
        if hard_delete:
            assert gone["id"] not in rows and set(rows) == kept
        else:
            assert rows[gone["id"]] != "", "the deleted status is flagged"
            assert set(rows) == kept | {gone["id"]}


def test_a_type_changed_mid_run_keeps_jsonl_and_postgres_working(sandbox_factory, tmp_path):
    """Close changes fields' types while the tap reads (it converts custom field types; custom
    activity type fields carry `converting_to_type`): an activity's `duration` becomes an object
    halfway through the activities, and every contact's `title` (nested in leads too) an
    object. The output must stay valid for the SCHEMAs the tap sent, and both target-jsonl
    (which validates strictly) and meltanolabs-target-postgres (which cannot alter a column)
    must load every record."""
    from validation import assert_records_valid
    sb = sandbox_factory(seed=61, leads=60, activities_per_lead=4, events=40, days=200)
    argv = tap_argv(tmp_path, sb)
    before = len([r for r in sb.request_log if r["group"] == "activity"])
    subprocess.run(argv, capture_output=True, check=True)
    activity_requests = len([r for r in sb.request_log if r["group"] == "activity"]) - before
    assert activity_requests > 4, "enough activity pages for a change halfway"
    sb.faults.drift("activity", "duration", {"minutes": 12, "billed": True}, after=activity_requests // 2)
    sb.faults.drift("contact", "title", {"text": "CEO", "since": 2020})
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    messages = [json.loads(line) for line in out.stdout.splitlines()]
    checked = assert_records_valid(messages, streams=STREAMS)
    activities = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "activities"]
    # Halfway: durations as declared before the change, in the sibling column after it.
    assert any(isinstance(a.get("duration"), int) for a in activities)
    moved = [a for a in activities if a.get("duration__object") is not None]
    assert moved and all(a["duration"] is None for a in moved)
    assert sum(m["type"] == "SCHEMA" and m["stream"] == "activities" for m in messages) == 2
    nested = [c for m in messages if m["type"] == "RECORD" and m["stream"] == "leads"
              for c in m["record"].get("contacts") or []]
    assert nested and all(c["title"] == {"text": "CEO", "since": 2020} for c in nested), "kept, not dropped"
    contact_schemas = [m["schema"] for m in messages if m["type"] == "SCHEMA" and m["stream"] == "contacts"]
    assert "title__object" in contact_schemas[-1]["properties"] and "title__object" not in contact_schemas[0]["properties"]

    config = write_json(tmp_path / "jsonl.json", {"destination_path": str(tmp_path / "out"), "do_timestamp_file": False})
    jsonl = subprocess.run([bin_path("target-jsonl", "target-jsonl"), "--config", config], input=out.stdout,
                           capture_output=True, text=True)
    assert jsonl.returncode == 0, jsonl.stderr[-3000:]
    for stream in STREAMS:
        rows = (tmp_path / "out" / f"{stream}.jsonl").read_text().splitlines()
        assert len(rows) == checked[stream], stream

    with postgres_server() as (host, port, user):
        config = _postgres_config(tmp_path / "pg.json", host, port, user,
                                  add_record_metadata=False, activate_version=False)
        pg = subprocess.run([bin_path("target-postgres", "target-postgres"), "--config", config], input=out.stdout,
                            capture_output=True, text=True)
        assert pg.returncode == 0, pg.stderr[-3000:]
        # A record without the sibling key (one that fits, written after the SCHEMA adding the
        # sibling: units finish in any order) gets JSON null there, not SQL NULL: not counted.
        (declared, sibling), = _psql(host, port, user, "select count(duration), "
                                                       "count(nullif(duration__object::text, 'null')) "
                                                       "from tap_close.activities")
        assert int(declared) > 0 and int(sibling) == len({a["id"] for a in moved})
        for stream in ("activities", "leads", "contacts"):
            ids = {row[0] for row in _psql(host, port, user, f"select id from tap_close.{stream}")}
            assert ids == {m["record"]["id"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream}

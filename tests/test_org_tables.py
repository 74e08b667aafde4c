"""The organization tables through the CLI: email and SMS templates, roles, groups with their
members, smart views of every type and phone numbers, each read whole every run (FULL_TABLE)."""

import json
from datetime import datetime, timezone

import pytest

from close_sandbox import org_tables
from tap_close.errors import NotFoundError
from tap_close.streams import STREAMS, StreamContext
from tap_runner import run_tap, select, tap_config
from validation import assert_records_valid, schema_changes

START = "2025-06-01T00:00:00Z"
# stream -> the sandbox table it reads
TABLES = {"email_templates": "email_template", "sms_templates": "sms_template", "roles": "role",
          "groups": "group", "smart_views": "saved_search", "phone_numbers": "phone_number"}
MINE = tuple(TABLES)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=44, leads=15, activities_per_lead=1, events=20, days=60)


@pytest.fixture(scope="module")
def catalog(org, tmp_path_factory):
    run = run_tap(["--discover"], tmp_path_factory.mktemp("disc"), config=tap_config(org, START))
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def first(org, catalog, tmp_path_factory):
    mark = len(org.request_log)
    run = run_tap([], tmp_path_factory.mktemp("first"), config=tap_config(org, START), catalog=select(catalog, MINE))
    assert run.returncode == 0, run.stderr[-2000:]
    return run, org.request_log[mark:]


def test_discovery_lists_them_as_full_table(catalog):
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    assert "memberships" not in entries, "Close documents no membership list"
    for stream in MINE:
        top = next(m["metadata"] for m in entries[stream]["metadata"] if m["breadcrumb"] == [])
        assert top["forced-replication-method"] == "FULL_TABLE", stream
        assert "valid-replication-keys" not in top and top["selected-by-default"] is True
        assert entries[stream]["key_properties"] == ["id"] == top["table-key-properties"]
        assert "_sdc_deleted_at" not in entries[stream]["schema"]["properties"], stream
        assert STREAMS[stream].replication_key is None


def test_sync_is_complete_valid_and_versioned(org, first):
    run, _ = first
    for stream, table in TABLES.items():
        expected = {r["id"] for r in org_tables.of(org).records(table)}
        assert expected, f"the sandbox should have {table}s to test"
        assert run.ids(stream) == expected, stream
        versions = [m for m in run.of_type("ACTIVATE_VERSION") if m["stream"] == stream]
        assert versions, f"{stream} activates its table version"
        assert set(run.final_state["bookmarks"][stream]) == {"version", "version_complete"}
        assert run.schemas()[stream]["bookmark_properties"] == []
    assert_records_valid(run, streams=MINE)
    widened = schema_changes(run)
    assert not widened, f"SCHEMAs widened mid-run (stream: property: (before, after)): {widened}"


def test_the_records_close_hides_by_default_are_read(org, first):
    run, log = first
    templates = {r["id"]: r for r in run.records("email_templates")}
    archived = {t["id"] for t in templates.values() if t["is_archived"]}
    assert archived and set(templates) - archived, "archived and unarchived templates"
    assert sorted(r["params"].get("is_archived") for r in log if r["path"] == "/email_template/") == ["false", "true"]
    assert {v["type"] for v in run.records("smart_views")} == {"lead", "contact", "opportunity", "call"}
    (views_request,) = [r for r in log if r["path"] == "/saved_search/"]
    assert set(views_request["params"]["type__in"].split(",")) == set(org_tables.SAVED_SEARCH_TYPES)


def test_groups_carry_their_members(org, first):
    run, log = first
    tables = org_tables.of(org)
    got = {g["id"]: g for g in run.records("groups")}
    for group_id, members in tables.members.items():
        assert [m["user_id"] for m in got[group_id]["members"]] == members
    assert [g for g in got.values() if g["members"]] and [g for g in got.values() if g["members"] == []]
    fetched = [r["path"] for r in log if r["group"] == "group" and r["path"] != "/group/"]
    assert sorted(fetched) == sorted(f"/group/{gid}/" for gid in got), "one fetch per group, for its members"
    assert len([r for r in log if r["path"] == "/group/"]) == 1


def test_variants_pass_as_close_sends_them(first):
    run, _ = first
    roles = {r["id"]: r for r in run.records("roles")}
    assert roles["admin"]["date_created"] == "0001-01-01T00:00:00.000000Z", "naive year-one dates, as UTC"
    views = run.records("smart_views")
    assert [v for v in views if v["query"] and v["s_query"] is None]
    assert [v for v in views if isinstance(v["s_query"], dict) and v["s_query"]["query"]]
    assert all(r["date_created"].endswith("Z") for stream in MINE for r in run.records(stream) if "date_created" in r)


def test_second_run_reads_everything_again(org, catalog, first, tmp_path):
    run, _ = first
    second = run_tap([], tmp_path, config=tap_config(org, START), catalog=select(catalog, MINE), state=run.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in MINE:
        assert second.ids(stream) == run.ids(stream), stream
        before = run.final_state["bookmarks"][stream]["version"]
        after = second.final_state["bookmarks"][stream]["version"]
        assert after > before and [m for m in second.of_type("ACTIVATE_VERSION") if m["stream"] == stream]


def test_deselected_members_cost_no_group_fetches(org, catalog, tmp_path):
    mark = len(org.request_log)
    run = run_tap([], tmp_path, config=tap_config(org, START),
                  catalog=select(catalog, ("groups",), deselect={("groups", "members")}))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("groups") == {g["id"] for g in org_tables.of(org).records("group")}
    assert all("members" not in g for g in run.records("groups"))
    paths = [r["path"] for r in org.request_log[mark:] if r["group"] == "group"]
    assert paths == ["/group/"], "the list only"


class _Client:
    """Answers the group list, and each group's fetch except the one deleted meanwhile."""

    def __init__(self, gone):
        self.gone = gone

    def get(self, path, params):
        if path == "group":
            return {"has_more": False, "data": [{"id": "group_a"}, {"id": self.gone}, {"id": "group_c"}]}
        if path == f"group/{self.gone}":
            raise NotFoundError("Close answered HTTP 404")
        return {"id": path.split("/")[1], "members": [{"user_id": "user_x"}]}


def test_a_group_deleted_between_list_and_fetch_is_skipped():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ctx = StreamContext(client=_Client("group_b"), start_date=now, sync_start=now, bookmark=None, fields=None)
    (unit,) = list(STREAMS["groups"].read_units(ctx))
    got = [record["id"] for page in unit.pages() for record in page]
    assert got == ["group_a", "group_c"]


class _ArchivingClient:
    """Template tmpl_b is archived between the tap's two reads: both lists hold it."""

    def get(self, path, params):
        if params["is_archived"] == "false":
            return {"has_more": False, "data": [{"id": "tmpl_a"}, {"id": "tmpl_b"}]}
        return {"has_more": False, "data": [{"id": "tmpl_b"}, {"id": "tmpl_c"}]}


def test_a_template_archived_between_the_two_reads_is_emitted_once():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ctx = StreamContext(client=_ArchivingClient(), start_date=now, sync_start=now, bookmark=None, fields=None)
    (unit,) = list(STREAMS["email_templates"].read_units(ctx))
    assert [record["id"] for page in unit.pages() for record in page] == ["tmpl_a", "tmpl_b", "tmpl_c"]

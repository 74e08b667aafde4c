"""The shipped Meltano plugin definition, in a real Meltano project: install, discover,
select, run twice (the second from the saved state) and once more after a failed run."""

import json
import os
import subprocess

import pytest

from tap_close.streams.base import LATE_VISIBILITY
from tap_close.timeutil import parse_datetime
from tools import ROOT, tool_venv

PROJECT = """version: 1
default_environment: dev
project_id: tap-close-meltano-test
send_anonymous_usage_stats: false
environments:
- name: dev
plugins:
  loaders:
  - name: target-jsonl
    namespace: target_jsonl
    pip_url: target-jsonl==0.1.4
    executable: target-jsonl
    settings:
    - name: destination_path
    - name: do_timestamp_file
      kind: boolean
    config:
      destination_path: output
      do_timestamp_file: false
"""
STATE_ID = "dev:tap-close-to-target-jsonl"


@pytest.fixture(scope="module")
def project(module_sandbox_factory, tmp_path_factory):
    sb = module_sandbox_factory(seed=51, leads=40, activities_per_lead=2, events=80, days=200)
    root = tmp_path_factory.mktemp("meltano")
    (root / "meltano.yml").write_text(PROJECT)
    definition = (ROOT / "meltano" / "tap-close.yml").read_text()
    assert "\npip_url: tap-close\n" in definition
    (root / "tap-close.yml").write_text(definition.replace("\npip_url: tap-close\n", f"\npip_url: -e {ROOT}\n"))
    meltano = str(tool_venv("meltano") / "bin" / "meltano")
    env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "TAP_CLOSE_API_KEY": sb.api_key,
           "TAP_CLOSE_START_DATE": "2026-01-01", "TAP_CLOSE_BASE_URL": sb.url, "NO_COLOR": "1"}

    def run(*args, check=True, timeout=900):
        result = subprocess.run([meltano, *args], cwd=root, env=env, capture_output=True, text=True,
                                timeout=timeout)
        if check:
            assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-4000:])
        return result

    run("add", "--plugin-type", "extractor", "tap-close", "--from-ref", str(root / "tap-close.yml"))
    run("install")
    return sb, root, run


def lead_searches_since(sb, since):
    """Where each leads search began (its `on_or_after`), as a timestamp string."""
    return [r["body"]["query"]["queries"][1]["condition"]["on_or_after"]["value"]
            for r in sb.request_log[since:]
            if r["group"] == "data" and r["body"]["query"]["queries"][0]["object_type"] == "lead"]


def reread_from(mark):
    """Where a run resuming from bookmark `mark` begins: the re-read margin below it, to the second."""
    return (parse_datetime(mark) - LATE_VISIBILITY).replace(microsecond=0)


def test_meltano_discover_select_and_run_twice_then_after_a_failure(project):
    sb, root, run = project
    catalog = json.loads(run("invoke", "tap-close", "--discover").stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == {
        "activities", "contacts", "custom_activities", "custom_activity_types", "custom_fields", "event_log",
        "custom_object_types", "custom_objects",
        "sequence_subscriptions", "sequences",
        "email_templates", "groups", "phone_numbers", "roles", "smart_views", "sms_templates",
        "lead_statuses", "leads", "opportunities", "opportunity_statuses", "pipelines", "tasks", "users"}
    for stream in ("leads", "tasks", "users"):
        run("select", "tap-close", stream, "*")
    listed = run("select", "tap-close", "--list").stdout
    assert "leads.custom." in listed or "leads.id" in listed

    run("run", "tap-close", "target-jsonl")
    out = root / "output"
    assert {p.stem for p in out.glob("*.jsonl")} == {"leads", "tasks", "users"}
    first_leads = len((out / "leads.jsonl").read_text().splitlines())
    assert first_leads == len(sb.store.records("lead"))
    state = json.loads(run("state", "get", STATE_ID).stdout)["singer_state"]
    mark = state["bookmarks"]["leads"]["date_updated"]

    changed = sb.store.records("lead")[0]["id"]
    sb.update_lead(changed, description="second run")
    before = len(sb.request_log)
    run("run", "tap-close", "target-jsonl")
    assert parse_datetime(lead_searches_since(sb, before)[0]) == reread_from(mark), "second run used the state"
    rows = [json.loads(l) for l in (out / "leads.jsonl").read_text().splitlines()]
    assert len(rows) < 2 * first_leads, "the second run is incremental"
    assert any(r["id"] == changed and r["description"] == "second run" for r in rows[first_leads:])

    # A run that fails in `tasks`, after `leads` is done: Meltano keeps its incomplete state.
    sb.update_lead(changed, description="third run")
    sb.faults.malformed(50, group="task", kind="not_object")
    failed = run("run", "tap-close", "target-jsonl", check=False)
    assert failed.returncode != 0
    sb.faults.clear()
    merged = json.loads(run("state", "get", STATE_ID).stdout)["singer_state"]
    assert merged["bookmarks"]["leads"]["date_updated"] >= mark
    before = len(sb.request_log)
    run("run", "tap-close", "target-jsonl")
    resumed = merged["bookmarks"]["leads"]["date_updated"]
    assert parse_datetime(lead_searches_since(sb, before)[0]) == reread_from(resumed)
    final = json.loads(run("state", "get", STATE_ID).stdout)["singer_state"]
    assert final["currently_syncing"] is None

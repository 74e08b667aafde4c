"""Contract tests for the organization tables (close_sandbox/org_tables.py): email and SMS
templates, roles, groups, smart views and phone numbers: their envelopes, documented filters,
paging (or its absence), single-object extras, record variants and 404s."""
import re

from close_sandbox import Sandbox, org_tables
from sandbox_helpers import NAIVE_RE, NOW, TS_RE

NAIVE_MICRO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$"


def ids(rows):
    return {r["id"] for r in rows}


def test_email_templates_hide_archived_unless_asked(api, ro_sandbox):
    everything = org_tables.of(ro_sandbox).records("email_template")
    archived = {t["id"] for t in everything if t["is_archived"]}
    assert archived and len(archived) < len(everything)
    default = api.all("/email_template/")
    assert ids(default) == ids(everything) - archived, "no is_archived: the unarchived ones only"
    assert ids(api.all("/email_template/", is_archived="true")) == archived
    assert ids(api.all("/email_template/", is_archived="False")) == ids(default)
    shared = api.all("/email_template/", is_shared="true")
    assert shared and all(t["is_shared"] for t in shared) and len(shared) < len(default)
    assert api.get("/email_template/", is_archived="maybe").status_code == 400


def test_email_template_shapes(api, ro_sandbox):
    users = {u["id"] for u in ro_sandbox.store.records("user")}
    listed = api.all("/email_template/") + api.all("/email_template/", is_archived="true")
    for template in listed:
        assert template["id"].startswith("tmpl_") and len(template["id"]) == 48
        assert {template["created_by"], template["updated_by"]} <= users
        assert re.match(TS_RE, template["date_created"]) and re.match(TS_RE, template["date_updated"])
        assert "used_by_sequences" not in template, "the list has no used_by_sequences (OAS list example)"
    with_files = [t for t in listed if t["attachments"]]
    assert with_files and [t for t in listed if t["attachments"] == []]
    assert set(with_files[0]["attachments"][0]) == {"content_id", "content_type", "filename", "inline_only",
                                                    "size", "url"}
    one = api.json("/email_template/%s/" % listed[0]["id"])
    assert one["used_by_sequences"] == [] and one["id"] == listed[0]["id"]
    archived = next(t for t in listed if t["is_archived"])
    assert api.json("/email_template/%s/" % archived["id"])["is_archived"] is True


def test_sms_templates_list_every_status_with_naive_times(api, ro_sandbox):
    rows = api.all("/sms_template/")
    assert ids(rows) == ids(org_tables.of(ro_sandbox).records("sms_template"))
    assert {r["status"] for r in rows} == {"active", "archived"}
    assert all(re.match(r"^smstmpl_[0-9A-Za-z]{22}$", r["id"]) for r in rows)
    assert all(re.match(NAIVE_MICRO_RE, r["date_created"]) for r in rows)
    assert [r for r in rows if re.match(NAIVE_RE, r["date_created"])], "one on a whole second: no fraction"
    assert [r for r in rows if re.match(r".*\.\d{3}(?!000)\d{3}$", r["date_created"])], "true microseconds"
    assert all("attachments" not in r for r in rows)
    with_files = [r for r in rows if org_tables.of(ro_sandbox).sms_attachments.get(r["id"])]
    assert with_files
    plain = api.json("/sms_template/%s/" % with_files[0]["id"])
    assert "attachments" not in plain
    full = api.json("/sms_template/%s/" % with_files[0]["id"], include_attachments="true")
    assert full["attachments"] and set(full["attachments"][0]) == {"content_type", "filename", "url"}


def test_roles_come_in_one_page_whatever_the_paging(api, ro_sandbox):
    body = api.json("/role/", _limit=2, _skip=3)
    assert body["has_more"] is False
    roles = {r["id"]: r for r in body["data"]}
    assert set(roles) == ids(org_tables.of(ro_sandbox).records("role"))
    built_in = {"admin", "superuser", "user", "restricteduser"}
    assert built_in < set(roles)
    for rid in built_in:
        assert roles[rid]["editable"] is False and roles[rid]["date_created"] == "0001-01-01T00:00:00"
    custom = [r for r in roles.values() if r["id"] not in built_in]
    assert custom and all(r["id"].startswith("role_") and r["editable"] is True for r in custom)
    assert [r for r in custom if "date_created" not in r] and [r for r in custom if "date_created" in r]
    assert "visibility_user_lcf_ids" not in roles["superuser"] and roles["admin"]["visibility_user_lcf_ids"] is None
    lead_fields = {d["id"] for d in ro_sandbox.store.custom_fields("lead")}
    restricted = [r for r in custom if r["visibility_user_lcf_ids"]]
    assert restricted and set(restricted[0]["visibility_user_lcf_ids"]) <= lead_fields
    assert api.json("/role/admin/")["name"] == "Admin"


def test_groups_list_without_members_and_fetch_with_them(api, ro_sandbox):
    body = api.json("/group/", _limit=1)
    assert body["has_more"] is False, "no paging documented: the whole list"
    groups = body["data"]
    assert ids(groups) == ids(org_tables.of(ro_sandbox).records("group"))
    assert all(set(g) == {"id", "name", "organization_id"} for g in groups), "no members on the list"
    assert all(re.match(r"^group_[0-9A-Za-z]{22}$", g["id"]) for g in groups)
    users = {u["id"] for u in ro_sandbox.store.records("user")}
    fetched = [api.json("/group/%s/" % g["id"]) for g in groups]
    assert all(set(g) == {"id", "name", "organization_id", "members"} for g in fetched)
    members = [{m["user_id"] for m in g["members"]} for g in fetched]
    assert any(members) and all(m <= users for m in members)
    assert [g for g in fetched if g["members"] == []], "an empty group"
    assert api.json("/group/%s/" % groups[0]["id"], _fields="id,members").keys() == {"id", "members"}
    missing = api.get("/group/group_000000000000000000000X/")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Empty query: Group matching query does not exist."}


def test_smart_views_default_to_lead_type(api, ro_sandbox):
    views = org_tables.of(ro_sandbox).records("saved_search")
    types = {v["type"] for v in views}
    assert {"lead", "contact", "opportunity", "call"} <= types
    default = api.all("/saved_search/")
    assert default and {v["type"] for v in default} == {"lead"}, "type defaults to lead"
    assert ids(api.all("/saved_search/", type="contact")) == {v["id"] for v in views if v["type"] == "contact"}
    every = api.all("/saved_search/", type__in=",".join(org_tables.SAVED_SEARCH_TYPES))
    assert ids(every) == ids(views)
    assert {v["type"] for v in api.all("/saved_search/", type__in="lead,contact")} == {"lead", "contact"}
    assert api.get("/saved_search/", type="bogus").status_code == 400
    assert api.get("/saved_search/", type__in="lead,bogus").status_code == 400
    paged = api.json("/saved_search/", type__in="lead,contact", _limit=2)
    assert paged["has_more"] is True and len(paged["data"]) == 2


def test_smart_view_variants(api, ro_sandbox):
    views = api.all("/saved_search/", type__in=",".join(org_tables.SAVED_SEARCH_TYPES))
    legacy = [v for v in views if v["query"] is not None]
    assert legacy and all(v["s_query"] is None for v in legacy)
    modern = [v for v in views if v["s_query"] is not None]
    assert modern and all(v["query"] is None for v in modern)
    assert all(set(v["s_query"]) == {"query", "results_limit", "sort"} for v in modern)
    assert [v for v in views if v["user_id"] is None] and [v for v in views if v["user_id"]]
    for key in ("description", "shared_with", "sharing_settings", "selected_fields"):
        assert [v for v in views if key not in v], f"{key} absent on some"
        assert [v for v in views if v.get(key, 0) is None], f"{key} null on some"
        assert [v for v in views if v.get(key)], f"{key} set on some"
    assert [v for v in views if v["is_user_dependent"] is None]
    assert [v for v in views if re.match(NAIVE_MICRO_RE, v["date_created"])]
    assert all("used_recently" not in v for v in views)
    assert isinstance(api.json("/saved_search/%s/" % views[0]["id"])["used_recently"], bool)


def test_phone_numbers_filters(api, ro_sandbox):
    numbers = api.all("/phone_number/")
    assert ids(numbers) == ids(org_tables.of(ro_sandbox).records("phone_number"))
    group = [n for n in numbers if n["is_group_number"]]
    personal = [n for n in numbers if not n["is_group_number"]]
    assert group and personal and all(n["user_id"] is None for n in group)
    assert ids(api.all("/phone_number/", is_group_number="true")) == ids(group)
    owner = personal[0]["user_id"]
    assert ids(api.all("/phone_number/", user_id=owner)) == {n["id"] for n in numbers if n["user_id"] == owner}
    participant = group[0]["participants"][0]
    joined = ids(api.all("/phone_number/", participant_user_id=participant))
    assert group[0]["id"] in joined and all(n["user_id"] in (participant, None) for n in numbers if n["id"] in joined)
    assert ids(api.all("/phone_number/", number=numbers[3]["number"])) == {numbers[3]["id"]}
    assert api.get("/phone_number/", is_group_number="perhaps").status_code == 400
    assert {n["type"] for n in numbers} == {"internal", "external", "virtual"}


def test_phone_number_variants(api, ro_sandbox):
    numbers = api.all("/phone_number/")
    for key in ("was_ported", "inbound_ring_duration", "participants", "phone_numbers"):
        assert [n for n in numbers if key not in n] and [n for n in numbers if key in n], key
    assert [n for n in numbers if n["label"] is None] and [n for n in numbers if n["label"]]
    assert [n for n in numbers if re.match(NAIVE_MICRO_RE, n["date_created"])]
    assert [n for n in numbers if re.match(TS_RE, n["date_created"])]
    assert api.json("/phone_number/%s/" % numbers[0]["id"])["number"] == numbers[0]["number"]
    assert api.get("/phone_number/phon_nope/").status_code == 404


def test_undocumented_parameters_are_ignored(api, ro_sandbox):
    everything = ids(api.all("/sms_template/"))
    assert ids(api.all("/sms_template/", date_updated__gte="2099-01-01", status="active")) == everything
    assert ids(api.all("/phone_number/", type="external")) == ids(api.all("/phone_number/"))
    assert api.get("/sms_template/", _limit=101).status_code == 400, "100 is the default page maximum"


def test_paging_faults_apply_to_the_paged_lists(fresh):
    sb, api = fresh
    before = org_tables.of(sb).records("email_template")
    sb.faults.deleted_404(1, group="email_template")
    assert api.get("/email_template/", _skip=2, _limit=2).status_code == 404
    assert api.get("/email_template/", _skip=2, _limit=2).status_code == 200, "one fault only"
    sb.faults.offset_shift(1, group="sms_template")
    first = api.json("/sms_template/", _skip=0, _limit=2)["data"]
    shifted = api.json("/sms_template/", _skip=2, _limit=2)["data"]
    after = org_tables.of(sb).records("sms_template")
    assert len(after) == 5 and first[1]["id"] not in ids(after), "the item before the offset was deleted"
    assert shifted[0]["id"] == after[2]["id"]
    assert len(org_tables.of(sb).records("email_template")) == len(before)


def test_generation_is_deterministic_and_uses_the_orgs_users():
    made = [Sandbox(seed=seed, leads=3, users=4, now=NOW) for seed in (11, 11, 12)]
    tables = [org_tables.of(sb) for sb in made]
    for kind in org_tables.ROUTES:
        assert tables[0].records(kind) == tables[1].records(kind), kind
        assert tables[0].records(kind), f"the default organization has {kind}s"
    assert ids(tables[0].records("saved_search")) != ids(tables[2].records("saved_search"))
    users = {u["id"] for u in made[0].store.records("user")}
    assert {t["created_by"] for t in tables[0].records("email_template")} <= users
    assert {uid for members in tables[0].members.values() for uid in members} <= users

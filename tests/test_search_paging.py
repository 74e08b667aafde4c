"""search_pages against a scripted client: the queries it sends and the pages it yields."""

from datetime import datetime, timedelta, timezone

import pytest

from tap_close.errors import BadRequestError, CloseAPIError, UnexpectedResponseError
from tap_close.streams.search import CURSOR_RESTARTS, SearchSpec, search_pages
from tap_close.streams.window_split import WindowRead

LO = datetime(2026, 1, 1, tzinfo=timezone.utc)
HI = datetime(2026, 2, 1, tzinfo=timezone.utc)
SPEC = SearchSpec("lead", "date_updated", ("id", "date_updated", "name"), limit=3)


class Scripted:
    def __init__(self, answers):
        self.answers = list(answers)
        self.bodies = []

    def search(self, body):
        self.bodies.append(body)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def lead(lead_id, second, micro=0):
    return {"__object_type": "lead", "id": lead_id,
            "date_updated": f"2026-01-05T10:00:{second:02d}.{micro:06d}+00:00"}


def anchor(body):
    return body["query"]["queries"][1]["condition"]["on_or_after"]["value"]


def ids(pages):
    return [record["id"] for page in pages for record in page]


def test_the_query_is_close_s_documented_shape():
    client = Scripted([{"data": [], "cursor": None}])
    assert list(search_pages(client, SPEC, WindowRead(LO, HI, HI))) == []
    body = client.bodies[0]
    assert body["query"]["queries"][0] == {"type": "object_type", "object_type": "lead"}
    condition = body["query"]["queries"][1]
    assert condition["field"] == {"type": "regular_field", "object_type": "lead", "field_name": "date_updated"}
    assert condition["condition"] == {"type": "moment_range",
                                      "on_or_after": {"type": "fixed_utc", "value": "2026-01-01T00:00:00.000000Z"},
                                      "before": {"type": "fixed_utc", "value": "2026-02-01T00:00:00.000000Z"}}
    assert body["sort"] == [{"direction": "asc", "field": condition["field"]}]
    assert body["_fields"] == {"lead": ["id", "date_updated", "name"]} and body["_limit"] == 3
    assert "cursor" not in body


def test_each_page_is_a_new_query_anchored_at_the_last_second_read():
    client = Scripted([
        {"data": [lead("a", 1), lead("b", 2), lead("c", 3, 500)], "cursor": "k1"},
        # asked again from 10:00:03: c comes back (dropped), d is new
        {"data": [lead("c", 3, 500), lead("d", 3, 900), lead("e", 7)], "cursor": "k2"},
        {"data": [lead("e", 7), lead("f", 8)], "cursor": None},
    ])
    pages = list(search_pages(client, SPEC, WindowRead(LO, HI, HI)))
    assert ids(pages) == ["a", "b", "c", "d", "e", "f"]
    assert [anchor(b) for b in client.bodies] == [
        "2026-01-01T00:00:00.000000Z", "2026-01-05T10:00:03.000000Z", "2026-01-05T10:00:07.000000Z"]
    assert all("cursor" not in body for body in client.bodies), "re-anchored queries need no cursor"
    assert all("__object_type" not in record for page in pages for record in page)


def test_a_second_holding_more_than_a_page_is_walked_with_the_cursor():
    client = Scripted([
        {"data": [lead("a", 5), lead("b", 5, 1), lead("c", 5, 2)], "cursor": "k1"},
        {"data": [lead("d", 5, 3), lead("e", 5, 4), lead("f", 5, 5)], "cursor": "k2"},
        {"data": [lead("g", 6)], "cursor": None},
    ])
    assert ids(search_pages(client, SPEC, WindowRead(LO, HI, HI))) == list("abcdefg")
    assert [b.get("cursor") for b in client.bodies] == [None, None, "k2"]
    assert anchor(client.bodies[1]) == anchor(client.bodies[2]) == "2026-01-05T10:00:05.000000Z"


def test_a_refused_cursor_asks_again_from_the_anchor_and_emits_nothing_twice():
    client = Scripted([
        {"data": [lead("a", 5), lead("b", 5), lead("c", 5)], "cursor": "k1"},
        {"data": [lead("d", 5), lead("e", 5), lead("f", 5)], "cursor": "k2"},
        BadRequestError("cursor expired", 400),
        {"data": [lead("a", 5), lead("b", 5), lead("c", 5)], "cursor": "k3"},
        {"data": [lead("d", 5), lead("e", 5), lead("f", 5)], "cursor": "k4"},
        {"data": [lead("g", 5), lead("h", 9)], "cursor": None},
    ])
    assert ids(search_pages(client, SPEC, WindowRead(LO, HI, HI))) == list("abcdefgh")
    assert [b.get("cursor") for b in client.bodies] == [None, None, "k2", None, "k3", "k4"]


def test_a_second_too_large_for_any_cursor_walk_fails_loudly():
    page = {"data": [lead("a", 5), lead("b", 5), lead("c", 5)], "cursor": "k"}
    client = Scripted([page, BadRequestError("cursor cap", 400)] * (CURSOR_RESTARTS + 1))
    second = datetime(2026, 1, 5, 10, 0, 5, tzinfo=timezone.utc)
    with pytest.raises(CloseAPIError, match="no record was skipped"):
        list(search_pages(client, SPEC, WindowRead(second, HI, HI)))
    assert not client.answers, "each restart was tried before giving up"


def test_a_refused_query_is_an_error_at_once():
    client = Scripted([BadRequestError("bad field", 400)])
    with pytest.raises(BadRequestError):
        list(search_pages(client, SPEC, WindowRead(LO, HI, HI)))
    assert len(client.bodies) == 1


@pytest.mark.parametrize("answer", [{"data": "x", "cursor": None}, {"data": [1], "cursor": None},
                                    {"data": [], "cursor": 5}, {"cursor": None}])
def test_answers_that_are_not_close_s_envelope_are_errors(answer):
    with pytest.raises(UnexpectedResponseError):
        list(search_pages(Scripted([answer]), SPEC, WindowRead(LO, HI, HI)))


def test_a_record_without_its_date_is_an_error():
    client = Scripted([{"data": [lead("a", 1), {"__object_type": "lead", "id": "b"}], "cursor": "k"}])
    with pytest.raises(UnexpectedResponseError, match="date_updated"):
        list(search_pages(client, SPEC, WindowRead(LO, HI, HI)))


def test_a_cursor_walking_on_after_a_split_keeps_to_the_new_end():
    """A split lowers the window's end while a cursor walks one crowded second: the cursor goes
    on with its query (the old end), and what its pages hold past the new end is left to the
    unit the split made for it."""
    second = datetime(2026, 1, 5, 10, 0, 5, tzinfo=timezone.utc)
    read = WindowRead(LO, HI, HI)
    client = Scripted([
        {"data": [lead("x", 4), lead("a", 5), lead("b", 5, 1)], "cursor": "k1"},
        {"data": [lead("a", 5), lead("b", 5, 1), lead("c", 5, 2)], "cursor": "k2"},   # re-anchored at :05
        {"data": [lead("d", 5, 3), lead("e", 6), lead("f", 9)], "cursor": "k3"},      # the cursor's next page
        {"data": [], "cursor": None},
    ])
    pages = search_pages(client, SPEC, read)
    first, second_page = next(pages), next(pages)
    assert ids([first, second_page]) == ["x", "a", "b", "c"]
    read.hi = second + timedelta(seconds=2)    # the split: [.., 10:00:07) is this walk's now
    rest = list(pages)
    assert ids(rest) == ["d", "e"], "f (10:00:09) is the new unit's"
    assert client.bodies[2]["cursor"] == "k2"
    before = client.bodies[2]["query"]["queries"][1]["condition"]["before"]["value"]
    assert before == "2026-02-01T00:00:00.000000Z", "the cursor went on with its own query"
    assert all(b["query"]["queries"][1]["condition"]["before"]["value"] == "2026-01-05T10:00:07.000000Z"
               for b in client.bodies[3:]) and len(client.bodies) == 4, "a new query asks up to the new end"

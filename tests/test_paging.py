"""The pagers against a scripted client: what they ask and what they yield."""

import pytest

from tap_close.errors import BadRequestError, CloseAPIError, NotFoundError, UnexpectedResponseError
from tap_close.streams.paging import Keyset, cursor_pages, keyset_pages, offset_pages


class Scripted:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def get(self, path, params):
        self.calls.append(dict(params))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def recs(*pairs):
    return [{"id": i, "t": t} for i, t in pairs]


def test_keyset_reanchors_and_drops_boundary_duplicates():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 2), ("c", 3))},
        {"has_more": True, "data": recs(("c", 3), ("d", 4), ("e", 5))},
        {"has_more": False, "data": recs(("e", 5), ("f", 6))},
    ])
    pages = list(keyset_pages(client, "x", Keyset(lambda b, skip: {"from": b, "skip": skip}, key=lambda r: r["t"])))
    assert [[r["id"] for r in p] for p in pages] == [["a", "b", "c"], ["d", "e"], ["f"]]
    assert client.calls == [{"from": None, "skip": 0}, {"from": 3, "skip": 0}, {"from": 5, "skip": 0}]


def test_keyset_skips_within_a_tie_group_larger_than_a_page():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 1), ("c", 1))},
        {"has_more": True, "data": recs(("d", 1), ("e", 1), ("f", 1))},
        {"has_more": False, "data": recs(("f", 1), ("g", 2))},
    ])
    pages = list(keyset_pages(client, "x", Keyset(lambda b, skip: {"from": b, "skip": skip}, key=lambda r: r["t"]),
                              overlap=1))
    assert [r["id"] for p in pages for r in p] == ["a", "b", "c", "d", "e", "f", "g"]
    assert [c["skip"] for c in client.calls] == [0, 2, 5]


def test_keyset_retries_deleted_document_404():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 2))},
        NotFoundError("gone", 404),
        {"has_more": False, "data": recs(("b", 2), ("c", 3))},
    ])
    pages = list(keyset_pages(client, "x", Keyset(lambda b, skip: {"from": b}, key=lambda r: r["t"])))
    assert [r["id"] for p in pages for r in p] == ["a", "b", "c"]


def test_first_page_404_is_an_error():
    client = Scripted([NotFoundError("no such endpoint", 404)])
    with pytest.raises(NotFoundError):
        list(keyset_pages(client, "x", Keyset(lambda b, skip: {}, key=lambda r: r["t"])))


@pytest.mark.parametrize("body", [{"data": "x", "has_more": False}, {"data": [], "has_more": "no"},
                                  {"data": [1], "has_more": False}, {"has_more": True, "data": []}])
def test_malformed_envelopes_raise(body):
    with pytest.raises(UnexpectedResponseError):
        list(offset_pages(Scripted([body]), "x", {}, 10))


def test_offset_restarts_after_deleted_404_and_skips_nothing():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 2))},
        NotFoundError("gone", 404),                              # "a" was deleted: all shift back
        {"has_more": True, "data": recs(("b", 2), ("c", 3))},
        {"has_more": False, "data": recs(("d", 4))},
    ])
    pages = list(offset_pages(client, "x", {}, 2))
    assert [r["id"] for p in pages for r in p] == ["a", "b", "b", "c", "d"], "b again, never lost"
    assert [c["_skip"] for c in client.calls] == [0, 2, 0, 2]


def test_offset_drops_records_pushed_onto_the_next_page_by_inserts():
    client = Scripted([
        {"has_more": True, "data": recs(("c", 3), ("b", 2))},
        {"has_more": True, "data": recs(("b", 2), ("a", 1))},    # "d" was inserted at the head
        {"has_more": False, "data": recs(("z", 0))},
    ])
    pages = list(offset_pages(client, "x", {}, 2))
    assert [r["id"] for p in pages for r in p] == ["c", "b", "a", "z"]


def test_cursor_follows_cursor_next_and_dedupes():
    client = Scripted([
        {"data": recs(("e3", 3), ("e2", 2)), "cursor_next": "c1", "cursor_previous": None},
        {"data": recs(("e2", 2), ("e1", 1)), "cursor_next": None, "cursor_previous": "p"},
    ])
    pages = list(cursor_pages(client, "event", {"_limit": 50}))
    assert [r["id"] for p in pages for r in p] == ["e3", "e2", "e1"]
    assert client.calls[1] == {"_limit": 50, "_cursor": "c1"}


def test_skip_cap_switches_to_the_split_then_steps_past_the_tie_group():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 1))},
        {"has_more": True, "data": recs(("c", 1), ("d", 1))},
        BadRequestError("max_skip", 400),                       # _skip=3 is past Close's cap
        {"has_more": False, "data": recs(("g", 2))},           # the walk resumes at step(1) = 2
    ])
    split_pages = [recs(("b", 1), ("c", 1), ("e", 1)), recs(("f", 1))]
    keyset = Keyset(lambda b, skip: {"from": b, "skip": skip}, key=lambda r: r["t"],
                    step=lambda b: b + 1, split=lambda b: iter(split_pages))
    pages = list(keyset_pages(client, "x", keyset, overlap=1))
    ids = [r["id"] for p in pages for r in p]
    assert ids == ["a", "b", "c", "d", "e", "f", "g"]
    assert client.calls[-1] == {"from": 2, "skip": 0}


def test_skip_cap_without_split_fails_loudly():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 1))},
        {"has_more": True, "data": recs(("c", 1), ("d", 1))},
        BadRequestError("max_skip", 400),
    ])
    with pytest.raises(CloseAPIError, match="no record was skipped"):
        list(keyset_pages(client, "x", Keyset(lambda b, skip: {}, key=lambda r: r["t"]), overlap=1))


def test_bad_request_on_the_first_page_is_not_mistaken_for_the_cap():
    with pytest.raises(BadRequestError):
        list(keyset_pages(Scripted([BadRequestError("bad filter", 400)]), "x",
                          Keyset(lambda b, skip: {}, key=lambda r: r["t"])))

"""The pagers against a scripted client: what they ask and what they yield."""

import pytest

from tap_close.errors import BadRequestError, CloseAPIError, NotFoundError, UnexpectedResponseError
from tap_close.streams.paging import (
    DELETED_RETRIES, OFFSET_STEPS_BACK, Keyset, cursor_pages, keyset_pages, offset_pages,
)


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


def test_deleted_document_404_on_the_first_page_is_asked_again():
    client = Scripted([NotFoundError("gone", 404), {"has_more": False, "data": recs(("a", 1))}])
    pages = list(keyset_pages(client, "x", Keyset(lambda b, skip: {"from": b}, key=lambda r: r["t"])))
    assert [r["id"] for p in pages for r in p] == ["a"]
    assert client.calls == [{"from": None}, {"from": None}], "the same first page, asked twice"


def test_a_404_that_persists_is_an_error():
    client = Scripted([NotFoundError("no such endpoint", 404)] * (DELETED_RETRIES + 1))
    with pytest.raises(NotFoundError):
        list(keyset_pages(client, "x", Keyset(lambda b, skip: {}, key=lambda r: r["t"])))
    assert len(client.calls) == DELETED_RETRIES + 1 and not client.answers


@pytest.mark.parametrize("body", [{"data": "x", "has_more": False}, {"data": [], "has_more": "no"},
                                  {"data": [1], "has_more": False}, {"has_more": True, "data": []}])
def test_malformed_envelopes_raise(body):
    with pytest.raises(UnexpectedResponseError):
        list(offset_pages(Scripted([body]), "x", {}, 10))


def test_offset_pages_overlap_and_survive_a_deletion_that_shifts_the_offsets():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 2), ("c", 3), ("d", 4))},
        # "a" was deleted: asked from _skip 3 (overlap 1), the list now starts b, c, d, e, ...:
        # d is not there, e would look like the next record and nothing would show a loss
        {"has_more": True, "data": recs(("e", 5), ("f", 6), ("g", 7), ("h", 8))},
        # half a page back: c and d are there, so nothing between was skipped
        {"has_more": True, "data": recs(("c", 3), ("d", 4), ("e", 5), ("f", 6))},
        {"has_more": False, "data": recs(("f", 6), ("g", 7), ("h", 8))},
    ])
    pages = list(offset_pages(client, "x", {}, 4))
    assert [r["id"] for p in pages for r in p] == ["a", "b", "c", "d", "e", "f", "g", "h"], "e not skipped"
    assert [c["_skip"] for c in client.calls] == [0, 3, 1, 4]


def test_offset_pages_step_back_as_far_as_the_shift_went():
    client = Scripted([
        {"has_more": True, "data": recs(("a", 1), ("b", 2), ("c", 3), ("d", 4))},
        # a, b and c deleted: from 3 the list is g, ...; from 1 it is e, f, g; d is first now
        {"has_more": False, "data": recs(("g", 7))},
        {"has_more": False, "data": recs(("e", 5), ("f", 6), ("g", 7))},
        {"has_more": False, "data": recs(("d", 4), ("e", 5), ("f", 6), ("g", 7))},
    ])
    pages = list(offset_pages(client, "x", {}, 4))
    assert [r["id"] for p in pages for r in p] == ["a", "b", "c", "d", "e", "f", "g"]
    assert [c["_skip"] for c in client.calls] == [0, 3, 1, 0]


def test_offset_pages_give_up_loudly_on_a_list_that_never_holds_still():
    # Every page beyond the first holds none of the last one's records, however far back it is
    # asked from: each walk from _skip 0 reads on as a new one, until the steps back run out.
    answers, n = [], 0
    for _ in range(OFFSET_STEPS_BACK):
        answers.append({"has_more": True, "data": recs(*((f"r{n + i}", n + i) for i in range(4)))})
        answers += [{"has_more": False, "data": recs((f"s{n}", 0))}, {"has_more": False, "data": recs((f"t{n}", 0))}]
        n += 4
    client = Scripted(answers)
    with pytest.raises(CloseAPIError, match="kept changing"):
        list(offset_pages(client, "x", {}, 4))
    assert len(client.calls) == OFFSET_STEPS_BACK // 2 * 3 + 2


def test_offset_drops_records_pushed_onto_the_next_page_by_inserts():
    client = Scripted([
        {"has_more": True, "data": recs(("c", 3), ("b", 2))},
        {"has_more": True, "data": recs(("c", 3), ("b", 2))},    # "d" was inserted at the head
        {"has_more": True, "data": recs(("b", 2), ("a", 1))},
        {"has_more": False, "data": recs(("a", 1), ("z", 0))},
    ])
    pages = list(offset_pages(client, "x", {}, 2))
    assert [r["id"] for p in pages for r in p] == ["c", "b", "a", "z"]
    assert [c["_skip"] for c in client.calls] == [0, 1, 2, 3], "each page overlaps the last by one"


def test_cursor_follows_cursor_next_and_dedupes():
    client = Scripted([
        {"data": recs(("e3", 3), ("e2", 2)), "cursor_next": "c1", "cursor_previous": None},
        {"data": recs(("e2", 2), ("e1", 1)), "cursor_next": None, "cursor_previous": "p"},
    ])
    pages = list(cursor_pages(client, "event", {"_limit": 50}))
    assert [r["id"] for p in pages for r in p] == ["e3", "e2", "e1"]
    assert client.calls[1] == {"_limit": 50, "_cursor": "c1"}


def test_skip_cap_fails_loudly():
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

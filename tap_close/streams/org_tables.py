"""The organization's own tables: email and SMS templates, roles, groups (with their members),
smart views and phone numbers. Small lists without timestamps Close can filter on, so each is
read whole every run (FULL_TABLE), a page or two each.

Close's endpoints, per developer.close.com/api/resources/<resource> and its OpenAPI:
- `/email_template/` filters on `is_archived`; whether archived templates are listed without
  it is not documented, so both values are read.
- `/saved_search/` lists lead Smart Views only unless `type`/`type__in` says otherwise
  ("Defaults to lead"), so every type of Close's `SavedSearchType` enum is asked for.
- `/group/` does not carry members ("Use individual group endpoint instead"): each group is
  fetched again from `/group/{id}/`, a few at once.
- Close documents no list of memberships (`/membership/` has POST, PUT and `/{id}/` only), so
  there is no memberships stream.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import ClassVar, Iterator

from ..errors import NotFoundError, UnexpectedResponseError
from .base import StreamContext, Unit
from .dimensions import DimensionStream
from .full_scan import in_parallel

LOGGER = logging.getLogger("tap_close")

# Close's SavedSearchType enum (smart views OpenAPI, GET /saved_search/ `type__in` items).
SMART_VIEW_TYPES = ("lead", "contact", "opportunity", "call", "email", "sms", "meeting", "note",
                    "whatsapp_message", "custom_activity", "form_submission")


class EveryValueDimension(DimensionStream):
    """A list whose default hides some records behind a filter: read once per value of
    `partition` (name, values), each record emitted once even if it moved between reads."""
    partition: ClassVar[tuple[str, tuple[str, ...]]]

    def collections(self, ctx: StreamContext) -> Iterator[tuple[str, dict, dict]]:
        name, values = self.partition
        for value in values:
            yield self.path, {**self.params, name: value}, {}

    def _fetch(self, ctx: StreamContext, unit: Unit) -> Iterator[list[dict]]:
        seen = set()
        for page in super()._fetch(ctx, unit):
            fresh = [record for record in page if record.get("id") not in seen]
            seen.update(record.get("id") for record in fresh)
            if fresh:
                yield fresh
            page = fresh = None   # the writer's now: not held while the next page is read


class DetailedDimension(DimensionStream):
    """A list whose items lack `detail_fields`, which only the single-object GET
    (`{path}/{id}/`) carries: each listed item is replaced by that fetch, unless none of those
    fields is selected. Costs one request per item, on top of the list's pages."""
    detail_fields: ClassVar[tuple[str, ...]]

    def _fetch(self, ctx: StreamContext, unit: Unit) -> Iterator[list[dict]]:
        if ctx.fields is not None and not set(self.detail_fields) & set(ctx.fields):
            yield from super()._fetch(ctx, unit)
            return
        for page in super()._fetch(ctx, unit):
            # One request per item, side by side: in turn they would make this table the last
            # to finish on an incremental run (a round trip per group).
            detailed = [record for record in in_parallel(partial(self._detail, ctx), page) if record is not None]
            if detailed:
                yield detailed
            page = detailed = None   # the writer's now: not held while the next page is read

    def _detail(self, ctx: StreamContext, item: dict) -> dict | None:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise UnexpectedResponseError(f"Close listed an item of {self.path} without an id")
        try:
            return ctx.client.get(f"{self.path}/{item_id}", self.fields_param(ctx))
        except NotFoundError:
            # Deleted since the list was read: it is no longer in Close's table either.
            LOGGER.info("%s: %s was deleted while the tap read it; skipped", self.tap_stream_id, item_id)
            return None


class EmailTemplates(EveryValueDimension):
    """GET /email_template/, unarchived and archived."""
    tap_stream_id = "email_templates"
    path = "email_template"
    partition = ("is_archived", ("false", "true"))


class SmsTemplates(DimensionStream):
    """GET /sms_template/: every status (active, archived)."""
    tap_stream_id = "sms_templates"
    path = "sms_template"


class Roles(DimensionStream):
    """GET /role/: built-in and custom roles with their permissions. Close documents no paging
    for it; one page holds them all."""
    tap_stream_id = "roles"
    path = "role"


class Groups(DetailedDimension):
    """GET /group/, then GET /group/{id}/ for each group's members."""
    tap_stream_id = "groups"
    path = "group"
    detail_fields = ("members",)


class SmartViews(DimensionStream):
    """GET /saved_search/ of every type: lead and contact Smart Views and the other types'."""
    tap_stream_id = "smart_views"
    path = "saved_search"
    params = {"type__in": ",".join(SMART_VIEW_TYPES)}


class PhoneNumbers(DimensionStream):
    """GET /phone_number/: personal, group, external and virtual numbers."""
    tap_stream_id = "phone_numbers"
    path = "phone_number"

"""The glance cases of perf_baseline.md, as data every target (rawdb, driver, openstack) runs.

A case names who calls (the admin context or the non-admin probe user of the dataset) and
what: a listing (``image_get_all`` with the filters the v2 API always passes, the default
sort and ``member_status='accepted'``) or one ``image_get``.  ``shape()`` turns any target's
result into the same comparable form, so results can be checked against each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rawdb.bench.seed import PROPERTY_FILTER, RARE_TAG, TAG_FILTER, GlanceDataset

# What glance's ImagesController.index always adds to a v2 listing.
API_FILTERS: dict[str, Any] = {"deleted": False, "os_hidden": False}


@dataclass(frozen=True, slots=True)
class GlanceCase:
    name: str
    what: str
    admin: bool = False
    kind: Literal["list", "get"] = "list"
    filters: Mapping[str, Any] = field(default_factory=dict)  # on top of API_FILTERS
    limit: int | None = 25
    deep: bool = False  # marker: the image at 90% of the probe's listing set
    return_tag: bool = False
    image: Literal["own", "shared"] | None = None  # kind == "get": which image

    def listing_filters(self) -> dict[str, Any]:
        """A fresh filters dict (callers may not mutate it, but nothing is shared anyway)."""
        return {**API_FILTERS, **{k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.filters.items()}}

    def marker(self, dataset: GlanceDataset) -> str | None:
        return dataset.deep_marker_id if self.deep else None

    def image_id(self, dataset: GlanceDataset) -> str:
        assert self.kind == "get"
        return dataset.own_image_id if self.image == "own" else dataset.shared_image_id

    def project(self, dataset: GlanceDataset) -> str:
        """The caller's project: the admin's (owns nothing) or the probe owner's."""
        return dataset.admin_project if self.admin else dataset.probe_owner


GLANCE_CASES: tuple[GlanceCase, ...] = (
    GlanceCase("a_admin_p1", "admin, first page of 25", admin=True),
    GlanceCase("b_admin_1000", "admin, limit 1000", admin=True, limit=1000),
    GlanceCase("c_user_p1", "non-admin, first page of 25"),
    GlanceCase("d_user_deep", "non-admin, marker at 90% of the visible set", deep=True),
    GlanceCase(
        "e_user_prop",
        f"non-admin, property {PROPERTY_FILTER[0]}={PROPERTY_FILTER[1]}",
        filters={"properties": {PROPERTY_FILTER[0]: PROPERTY_FILTER[1]}},
    ),
    GlanceCase("f_user_tag", f"non-admin, tag {TAG_FILTER}", filters={"tags": [TAG_FILTER]}),
    GlanceCase("f2_user_rare_tag", f"non-admin, tag {RARE_TAG} (on 1% of images)", filters={"tags": [RARE_TAG]}),
    GlanceCase("g_user_tags100", "non-admin, limit 100, return_tag", limit=100, return_tag=True),
    GlanceCase("h_get_own", "image_get of an own image", kind="get", image="own"),
    GlanceCase("h2_get_shared", "image_get of a shared image", kind="get", image="shared"),
    GlanceCase("i_api_default", "GET /v2/images: non-admin, 25, return_tag", return_tag=True),
)

CASES_BY_NAME = {case.name: case for case in GLANCE_CASES}


def shape_image(image: Mapping[str, Any], with_tags: bool) -> dict[str, Any]:
    """The parts of an image result that must agree across targets."""
    shaped: dict[str, Any] = {
        "id": image["id"],
        "properties": sorted((p["name"], p["value"]) for p in image.get("properties", []) if not p.get("deleted")),
        # glance's SQL leaves the order of an image's locations to the plan (rawdb: id order)
        "locations": sorted(
            (loc["url"], json.dumps(loc["metadata"], sort_keys=True), loc["status"])
            for loc in image.get("locations", [])
        ),
    }
    if with_tags:
        shaped["tags"] = sorted(image.get("tags") or [])
    return shaped


def shape(case: GlanceCase, result: Any) -> Any:
    """A target's result for ``case`` in the comparable form: a list of images, or one image."""
    if case.kind == "get":
        return shape_image(result, with_tags=False)
    return [shape_image(image, with_tags=case.return_tag) for image in result]

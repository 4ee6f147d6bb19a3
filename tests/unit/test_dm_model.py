"""The data-modeling target's model as data: consistent tables, and the committed diagram drawn from them."""

from __future__ import annotations

from pathlib import Path

from plex_cdf.cdf.dm import diagram, model

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_diagram_matches_the_model() -> None:
    committed = (REPO / "docs" / "data-model.svg").read_text(encoding="utf-8")

    assert committed == diagram.svg(), "run: .venv/bin/python -m plex_cdf.cdf.dm.diagram"


def test_the_diagram_shows_every_view_and_what_it_implements() -> None:
    text = diagram.svg()

    for view in model.VIEWS:
        assert f">{view.name} (" in text
        for parent in view.implements:
            assert f">{parent.space}:{parent.external_id}<" in text


def test_each_plex_kind_lands_in_one_view_and_every_container_is_mapped() -> None:
    kinds = [kind for view in model.VIEWS for kind in view.kinds]
    mapped = {name for view in model.VIEWS for name in view.containers}

    assert len(kinds) == len(set(kinds)), "a Plex kind in two views"
    assert mapped == set(model.CONTAINER_BY_NAME)
    assert model.VIEW_OF_KIND["workcenter"] == "PlexAsset"
    assert model.VIEW_OF_KIND["part"] == "PlexPart", "parts are not places in the asset tree"


def test_non_physical_things_implement_describable_and_sourceable_not_asset() -> None:
    for name in (
        "PlexPart",
        "PlexOperation",
        "PlexSupplier",
        "PlexCustomer",
        "PlexContainer",
        "PlexLocation",
    ):
        parents = {p.external_id for p in model.VIEW_BY_NAME[name].implements}
        assert {"CogniteDescribable", "CogniteSourceable", "CogniteExtractorData"} <= parents
        assert "CogniteAsset" not in parents


def test_the_data_model_lists_plex_views_and_the_cdm_views_used() -> None:
    built = model.data_model("plex_cdf")
    names = {(v.space, v.external_id) for v in built.views or []}  # type: ignore[union-attr]

    assert {("plex_cdf", view.name) for view in model.VIEWS} <= names
    assert ("cdf_cdm", "CogniteSourceSystem") in names
    assert ("cdf_extraction_extensions", "CogniteExtractorData") in names

"""`setup` for the data-modeling target: spaces, containers, views, the PlexManufacturing data model and
the source-system node. Safe to repeat; a view version already in CDF with other properties or parents is
refused by name, never overwritten (a schema change is a new `model.VERSION`); so is a data model version
listing other views (its version follows its view list, `model.data_model_version`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes.data_modeling import NodeApply, ViewApply
from cognite.client.data_classes.data_modeling.cdm.v1 import CogniteSourceSystemApply

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.configured import ConfiguredView


class SchemaChanged(Exception):
    """A view version in CDF differs from the one this plex-cdf defines."""


def _shape(view: Any) -> tuple[tuple[str, ...], dict[str, tuple[str, str]]]:
    """What makes a view version: its parents, and each own property's container and container property."""
    implements = tuple(sorted(f"{p.space}:{p.external_id}/{p.version}" for p in view.implements or ()))
    mapped: dict[str, tuple[str, str]] = {}
    for name, prop in (view.properties or {}).items():
        container = getattr(prop, "container", None)
        if container is not None:
            mapped[name] = (f"{container.space}:{container.external_id}", prop.container_property_identifier)
    return implements, mapped


def _own_properties(view: Any, schema_space: str) -> Any:
    """A read view lists inherited properties too; only those in the schema space's containers are its own."""
    shape = _shape(view)
    own = {k: v for k, v in shape[1].items() if v[0].startswith(f"{schema_space}:")}
    return shape[0], own


def differences(wanted: list[ViewApply], found: list[Any], schema_space: str) -> list[str]:
    """The view versions in CDF whose shape differs from the wanted one (one line each)."""
    by_id = {(view.external_id, view.version): view for view in found}
    changed = []
    for view in wanted:
        existing = by_id.get((view.external_id, view.version))
        if existing is not None and _own_properties(existing, schema_space) != _shape(view):
            changed.append(f"{schema_space}:{view.external_id}/{view.version}")
    return changed


def source_system(instance_space: str) -> CogniteSourceSystemApply:
    return CogniteSourceSystemApply(
        space=instance_space,
        external_id=model.SOURCE_SYSTEM_ID,
        name=model.SOURCE_SYSTEM_NAME,
        manufacturer="Rockwell Automation",
        description="Plex Manufacturing Cloud (Connect REST and Data Source APIs), read by plex-cdf",
    )


async def apply_schema(
    client: AsyncCogniteClient,
    schema_space: str,
    instance_spaces: list[str],
    configured: Sequence[ConfiguredView] = (),
) -> list[str]:
    """Create or confirm everything the data-modeling target writes into (with the views of configured
    resources, `configured`); one line per step."""
    dm = client.data_modeling
    done: list[str] = []
    await dm.spaces.apply(model.spaces(schema_space, instance_spaces))
    done.append(f"spaces: {', '.join([schema_space, *instance_spaces])}")
    own = [view.container(schema_space) for view in configured]
    await dm.containers.apply([*model.containers(schema_space), *own])
    names = [*(c.name for c in model.CONTAINERS), *(c.name for c in configured)]
    done.append(f"containers: {', '.join(names)}")
    wanted = model.views(schema_space)
    found = await dm.views.retrieve([view.as_id() for view in wanted], all_versions=True)
    changed = differences(wanted, list(found), schema_space)
    if changed:
        raise SchemaChanged(
            f"view {changed[0]} in CDF differs from this plex-cdf's definition; a schema change needs a new"
            " view version, so it is not overwritten"
        )
    existing = {(view.external_id, view.version) for view in found}
    await dm.views.apply(wanted)
    new = [view.external_id for view in wanted if (view.external_id, view.version) not in existing]
    done.append(f"views {model.VERSION}: {len(new)} created, {len(wanted) - len(new)} unchanged")
    done += await _apply_configured_views(client, schema_space, configured)
    done.append(await _apply_data_model(client, schema_space, configured))
    edge_types = [NodeApply(schema_space, name) for name in model.EDGE_TYPES]
    await dm.instances.apply([*edge_types, *(source_system(space) for space in instance_spaces)])
    done.append(f"source system {model.SOURCE_SYSTEM_NAME!r}: in {', '.join(instance_spaces)}")
    return done


async def _apply_data_model(
    client: AsyncCogniteClient, schema_space: str, configured: Sequence[ConfiguredView]
) -> str:
    """PlexManufacturing at the version its view list gives (`model.data_model_version`): the configured
    views join it, and a changed list is a new version; a version in CDF listing other views is refused."""
    wanted = model.data_model(schema_space, [view.view_id(schema_space) for view in configured])
    ident = (schema_space, model.DATA_MODEL, wanted.version)
    found = await client.data_modeling.data_models.retrieve(ident)
    if found and _view_ids(found[0].views) != _view_ids(wanted.views):
        raise SchemaChanged(
            f"data model {schema_space}:{model.DATA_MODEL}/{wanted.version} in CDF lists other views than"
            " this plex-cdf's; it is not overwritten"
        )
    await client.data_modeling.data_models.apply(wanted)
    return f"data model {schema_space}:{model.DATA_MODEL}/{wanted.version}: " + (
        "unchanged" if found else "created"
    )


def _view_ids(views: Any) -> set[tuple[str, str, str | None]]:
    return {(v.space, v.external_id, v.version) for v in views or ()}


async def _apply_configured_views(
    client: AsyncCogniteClient, schema_space: str, configured: Sequence[ConfiguredView]
) -> list[str]:
    """The views of configured resources, each at the version its shape gives (so a changed entry is a
    new version beside the old one, never an overwrite)."""
    if not configured:
        return []
    wanted = [view.view(schema_space) for view in configured]
    found = await client.data_modeling.views.retrieve([view.as_id() for view in wanted], all_versions=True)
    changed = differences(wanted, list(found), schema_space)
    if changed:
        raise SchemaChanged(
            f"view {changed[0]} in CDF differs from this configured resource's; it is not overwritten"
        )
    existing = {(view.external_id, view.version) for view in found}
    await client.data_modeling.views.apply(wanted)
    return [
        f"view {view.external_id}/{view.version} (configured resource {source.resource}): "
        + ("unchanged" if (view.external_id, view.version) in existing else "created")
        for view, source in zip(wanted, configured, strict=True)
    ]

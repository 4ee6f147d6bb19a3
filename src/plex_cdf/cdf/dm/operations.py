"""`check`, `status --reconcile` and `cleanup` for the data-modeling target: what CDF holds in the spaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes.data_modeling import ContainerId, DataModelId, EdgeId, NodeId, ViewId
from cognite.client.data_classes.data_modeling import filters as F

from plex_cdf.cdf.dm import model
from plex_cdf.cdf.dm.configured import ConfiguredView

# What the data-modeling target needs, as ACL names in token/inspect's capabilities.
NEEDED_ACLS = ("dataModelsAcl", "dataModelInstancesAcl", "timeSeriesAcl", "extractionPipelinesAcl")
BATCH = 1000


async def missing_schema(
    client: AsyncCogniteClient,
    schema_space: str,
    instance_spaces: list[str],
    configured: Sequence[ConfiguredView] = (),
) -> list[str]:
    """The spaces and views `setup` makes (configured resources' views too) that CDF lacks (empty: all
    there)."""
    wanted = [schema_space, *instance_spaces]
    found = {space.space for space in await client.data_modeling.spaces.retrieve(wanted)}
    lacking = [f"space {space}" for space in wanted if space not in found]
    if schema_space in found:
        ids = [model.view_id(schema_space, view.name) for view in model.VIEWS]
        ids += [view.view_id(schema_space) for view in configured]
        views = await client.data_modeling.views.retrieve(ids, all_versions=False)
        have = {(view.external_id, view.version) for view in views}
        lacking += [
            f"view {v.external_id}/{v.version}" for v in ids if (v.external_id, v.version) not in have
        ]
    return lacking


async def filled_nodes(
    client: AsyncCogniteClient, schema_space: str, instance_space: str, external_ids: Sequence[str]
) -> set[str]:
    """Which of these nodes hold plex-cdf data (a placeholder made for a link does not count)."""
    record = ContainerId(schema_space, model.RECORD.name)
    found: set[str] = set()
    for start in range(0, len(external_ids), BATCH):
        chunk = list(external_ids[start : start + BATCH])
        nodes = await client.data_modeling.instances.list(
            "node",
            space=instance_space,
            limit=None,
            filter=F.And(F.In(["node", "externalId"], chunk), F.HasData(containers=[record])),
        )
        found.update(node.external_id for node in nodes)
    return found


@dataclass
class InstancesPlan:
    """What `cleanup` deletes on the data-modeling target."""

    nodes: list[NodeId] = field(default_factory=list)
    edges: list[EdgeId] = field(default_factory=list)
    schema_space: str | None = None  # set when the schema goes too (`--schema`)
    data_models: list[DataModelId] = field(default_factory=list)
    views: list[ViewId] = field(default_factory=list)
    containers: list[ContainerId] = field(default_factory=list)
    spaces: list[str] = field(default_factory=list)


async def plan_instances(
    client: AsyncCogniteClient, schema_space: str, instance_spaces: list[str], *, schema: bool
) -> InstancesPlan:
    plan = InstancesPlan()
    for space in instance_spaces:
        edges = await client.data_modeling.instances.list("edge", space=space, limit=None)
        plan.edges += [EdgeId(space, edge.external_id) for edge in edges]
        nodes = await client.data_modeling.instances.list("node", space=space, limit=None)
        plan.nodes += [NodeId(space, node.external_id) for node in nodes]
    if schema:
        plan.schema_space = schema_space
        dm = client.data_modeling
        models = await dm.data_models.list(space=schema_space, limit=None, all_versions=True)
        plan.data_models = [data_model.as_id() for data_model in models]
        views = await client.data_modeling.views.list(space=schema_space, limit=None, all_versions=True)
        plan.views = [view.as_id() for view in views]
        containers = await client.data_modeling.containers.list(space=schema_space, limit=None)
        plan.containers = [container.as_id() for container in containers]
        plan.spaces = [*instance_spaces, schema_space]
        edge_types = [NodeId(schema_space, name) for name in model.EDGE_TYPES]
        plan.nodes += edge_types
    return plan


async def delete_instances(client: AsyncCogniteClient, plan: InstancesPlan) -> None:
    """Edges, nodes, then (with the schema) the data model, views, containers and spaces."""
    dm = client.data_modeling
    for start in range(0, len(plan.edges), BATCH):
        await dm.instances.delete(edges=plan.edges[start : start + BATCH])
    for start in range(0, len(plan.nodes), BATCH):
        await dm.instances.delete(nodes=plan.nodes[start : start + BATCH])
    if plan.schema_space is None:
        return
    if plan.data_models:  # every version: one per list of configured views setup has seen
        await dm.data_models.delete(plan.data_models)
    if plan.views:
        await dm.views.delete(plan.views)
    if plan.containers:
        await dm.containers.delete(plan.containers)
    await dm.spaces.delete(plan.spaces)

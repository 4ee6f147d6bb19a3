"""An instance's request body, without the SDK's general serializer where the values are plain JSON.

`NodeApply.dump` walks every property value through the SDK's serializer (about 120 us a node, a third of
the data-modeling target's CPU in a profiled medium cold run). The mapping's values are already plain JSON
(text, numbers, booleans, direct relations as `{"space", "externalId"}` dicts and lists of them), so they go
as they are; an instance with any other value (an SDK object, a datetime) is dumped by the SDK.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import lru_cache
from typing import Any

from cognite.client.data_classes.data_modeling import (
    ContainerId,
    DirectRelationReference,
    EdgeApply,
    NodeApply,
    ViewId,
)

Json = dict[str, Any]
_PLAIN = frozenset({str, int, float, bool, type(None)})


def plain(value: object) -> bool:
    """Whether `value` is JSON as it is: scalars, and dicts (text keys) and lists of such. (Loops, not
    `all` over generators: this walks every property of every instance, a few million values a run.)"""
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or (type(item) not in _PLAIN and not plain(item)):
                return False
        return True
    if kind is list:
        for item in value:  # type: ignore[attr-defined]  # noqa: SIM110 (a loop: `all` over a generator is slower here)
            if type(item) not in _PLAIN and not plain(item):
                return False
        return True
    return False


def node_body(space: str, external_id: str, view: ViewId, properties: Json) -> Json:
    """A node with one view's properties, as `NodeApply(...).dump()` gives it, for properties that are
    plain JSON: the mapping's nodes are built so (a medium cold run makes 36,000), without an SDK object
    in between. `tests/unit/test_dm_bodies.py` loads each kind through `NodeApply.load` and back."""
    return {
        "space": space,
        "externalId": external_id,
        "instanceType": "node",
        "sources": [{"properties": properties, "source": _reference(view)}],
    }


def instance_body(instance: NodeApply | EdgeApply) -> Json:
    """What `instance.dump()` gives, faster when every property value is plain JSON."""
    if isinstance(instance, NodeApply) and instance.type is not None:
        return instance.dump()
    sources = []
    for data in instance.sources:
        if not plain(data.properties):
            return instance.dump()
        sources.append({"properties": data.properties, "source": _reference(data.source)})
    body: Json = {"space": instance.space, "externalId": instance.external_id}
    body["instanceType"] = instance.instance_type
    if instance.existing_version is not None:
        body["existingVersion"] = instance.existing_version
    if sources:
        body["sources"] = sources
    if isinstance(instance, EdgeApply):
        body["type"] = _reference(instance.type)
        body["startNode"] = _reference(instance.start_node)
        body["endNode"] = _reference(instance.end_node)
    return body


@lru_cache(maxsize=4096)
def _frozen_reference(reference: Hashable) -> Json:
    dumped: Json = reference.dump(camel_case=True)  # type: ignore[attr-defined]
    return dumped


def _reference(reference: ViewId | ContainerId | DirectRelationReference) -> Json:
    """A view, container or node reference as JSON (a fresh dict: the SDK's dump is slow, so it is cached)."""
    return dict(_frozen_reference(reference))

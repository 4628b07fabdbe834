"""The per-type gauges each resource type declares (polo.collectors: EKS, Auto Scaling, ECS,
DynamoDB, ElastiCache, OpenSearch, SageMaker, ECR, CloudWatch Logs): one series per resource
with the identity labels only, or one per (resource, extra labels) for a labelled gauge, read
from the `details` their collectors fill (docs/metrics.md). A value AWS did not give (None) has
no series."""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Sequence

from polo.collectors import RESOURCE_TYPES
from polo.collectors.base import Gauge
from polo.model import Resource
from polo.render.exposition import Family, label_string
from polo.render.labels import AccountNames, identity_labels

# (resource_type, gauge): unlabelled gauges first, in type order, then the labelled ones
GAUGES: tuple[tuple[str, Gauge], ...] = tuple(sorted(
    ((t.name, gauge) for t in RESOURCE_TYPES for gauge in t.gauges), key=lambda pair: bool(pair[1].labels)))


def service_families(by_type: Mapping[str, Sequence[Resource]], names: AccountNames) -> list[Family]:
    """The GAUGES families, streamed at render time."""
    def samples(resource_type: str, gauge: Gauge) -> Callable[[], Iterator[tuple[str, Any]]]:
        def each():
            for resource in by_type.get(resource_type, ()):
                value = gauge.value(resource.details)
                if value is not None:
                    yield identity_labels(resource, names), value

        def labelled():
            for resource in by_type.get(resource_type, ()):
                identity = identity_labels(resource, names)
                for label_values, value in gauge.value(resource.details):
                    yield identity + "," + label_string(gauge.labels, label_values), value
        return labelled if gauge.labels else each

    return [Family(gauge.name, "gauge", gauge.help, stream=samples(resource_type, gauge))
            for resource_type, gauge in GAUGES]

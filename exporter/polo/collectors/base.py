"""What every collector shares: the context it runs in and the helpers for paging and tags.
Collectors import this module, never the package, which imports every collector."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from polo.model import GIB, tag_dict

__all__ = ["GIB", "CollectContext", "map_tags", "paginate"]


@dataclass(frozen=True)
class CollectContext:
    account_id: str
    region: str  # 'global' for global collectors
    home_region: str  # region for global services' API calls
    client: Callable[[str, str], Any]  # (service, region) -> boto3 client

    def regional_client(self, service: str):
        return self.client(service, self.home_region if self.region == "global" else self.region)


def paginate(client, operation: str, result_key: str, **params) -> Iterator[Any]:
    """Every item of every page of a paginated Describe/List call (records, or names/ARNs)."""
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(result_key, ())


def map_tags(tags: dict[str, str] | None):
    """Tags AWS returns as a {key: value} map (EKS, ECS lists aside) in tag_dict's shape."""
    return tag_dict({"Key": k, "Value": v} for k, v in (tags or {}).items())

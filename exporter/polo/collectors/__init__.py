"""One module per AWS resource type: its collector and its declaration (`TYPE`, a
polo.collectors.base.ResourceType: scope, price, gauges, console page, place in the diagram).
`collect(ctx)` is a generator of normalised `polo.model.Resource`s built from the service's own
Describe/List APIs with every page read, so untagged resources are found too.

Collectors only see a CollectContext: they cannot tell real AWS from a simulated one.
Each module's docstring shows the resources it yields and the `details` keys it fills.
"""
from __future__ import annotations

import importlib
import pkgutil

from polo.collectors.base import ResourceType


def _declared() -> tuple[ResourceType, ...]:
    """Every module here that declares a TYPE, by module name: adding a type is adding its
    module (base and metric_sums are helpers and declare none)."""
    modules = (importlib.import_module(f"{__name__}.{info.name}")
               for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name))
    return tuple(module.TYPE for module in modules if isinstance(getattr(module, "TYPE", None), ResourceType))


RESOURCE_TYPES = _declared()
COLLECTORS = {t.collector: t for t in RESOURCE_TYPES}  # collector name -> its type
BY_NAME = {t.name: t for t in RESOURCE_TYPES}  # resource_type label -> its type

"""The normalised inventory: one Resource shape for every AWS service, and pruning.

Pure code, no AWS: collectors produce Resources, the Inventory folds each sweep's task
results into a Snapshot that the exposition renders.
"""
from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Collection, Iterable, Mapping

EMPTY: Mapping[str, Any] = MappingProxyType({})
GIB = 1024 ** 3


class FrozenMapping(Mapping):
    """A read-only, compact mapping for a resource's tags and details. Mappings with the same
    keys share one key -> position index, so each holds only a tuple of its values: ~150 bytes
    for eight tags instead of ~420 for a dict behind a MappingProxyType (docs/benchmarks.md)."""

    __slots__ = ("_index", "_values")
    _shapes: dict[tuple[str, ...], dict[str, int]] = {}  # keys -> shared index

    def __init__(self, items: Mapping[str, Any]):
        keys = tuple(items)
        index = FrozenMapping._shapes.get(keys)
        if index is None:  # a race only builds an equal index twice
            index = FrozenMapping._shapes.setdefault(keys, {key: n for n, key in enumerate(keys)})
        self._index = index
        self._values = tuple(items.values())

    def __getitem__(self, key: str) -> str:
        return self._values[self._index[key]]

    def get(self, key, default=None):
        position = self._index.get(key)
        return default if position is None else self._values[position]

    def __contains__(self, key) -> bool:
        return key in self._index

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"FrozenMapping({dict(self)!r})"


@dataclass(frozen=True, slots=True)
class Resource:
    """One AWS resource. `details` holds service-specific facts the rules and metrics need
    (target counts, open ingress rules, attachment state, ...); collectors document theirs."""

    account_id: str
    region: str
    resource_type: str
    resource_id: str
    name: str = ""
    state: str = ""
    parent_id: str = ""
    vpc_id: str = ""
    subnet_id: str = ""
    created: float | None = None
    resource_class: str = ""
    size_bytes: float | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: EMPTY)  # one shared read-only empty
    details: Mapping[str, Any] = field(default_factory=lambda: EMPTY)

    def __post_init__(self):
        # Every reply is parsed afresh, so the same state, class, VPC or subnet id arrives as
        # thousands of equal strings: keep one shared copy of each; and keep details compact
        # (one collector's details always have the same keys). See docs/benchmarks.md.
        for name in _SHARED_FIELDS:
            value = getattr(self, name)
            if type(value) is str:
                object.__setattr__(self, name, sys.intern(value))
        if type(self.details) is dict and self.details:
            object.__setattr__(self, "details", FrozenMapping(self.details))

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account_id, self.region, self.resource_type, self.resource_id)


_SHARED_FIELDS = ("account_id", "region", "resource_type", "state", "parent_id", "vpc_id", "subnet_id",
                  "resource_class")


@dataclass(frozen=True, slots=True)
class TaskKey:
    """One unit of sweep work: a collector in one account and region ('global' for S3)."""

    account_id: str
    region: str
    collector: str


@dataclass(frozen=True, slots=True)
class TaskResult:
    task: TaskKey
    resources: tuple[Resource, ...] | None  # None when the task failed
    duration: float
    error: str = ""  # short error code, e.g. AccessDenied, Throttling, ReadTimeout

    @property
    def ok(self) -> bool:
        return self.resources is not None


@dataclass(frozen=True, slots=True)
class TaskStatus:
    ok: bool
    duration: float
    error: str
    last_success: float | None
    resources: int


@dataclass(frozen=True, slots=True)
class Tombstone:
    resource: Resource
    deleted_at: float


@dataclass(frozen=True)
class Snapshot:
    """Everything one completed sweep knows; immutable so a scrape can read it lock-free."""

    taken_at: float
    resources: tuple[Resource, ...]
    tombstones: tuple[Tombstone, ...]
    tasks: Mapping[TaskKey, TaskStatus]
    sweep_duration: float
    sweep_ok: bool
    last_success: float | None
    accounts_up: Mapping[str, bool] = field(default_factory=dict)


class Inventory:
    """Folds sweep results into a snapshot, keeping v1's prune semantics.

    A resource missing from a *successful* listing becomes a tombstone for `prune_window`
    seconds and then disappears. A failed listing changes nothing: its resources keep their
    last known state, so a throttled account never looks as if it were emptied.
    """

    def __init__(self, prune_window: float):
        self.prune_window = prune_window
        self._live: dict[TaskKey, dict[str, Resource]] = {}  # task -> resource_id -> resource
        self._tombstones: dict[tuple, Tombstone] = {}
        self._status: dict[TaskKey, TaskStatus] = {}
        self._last_success: float | None = None
        self._departed: set[str] = set()  # accounts whose tombstones outlive them
        self._tombstone_task: dict[tuple, TaskKey] = {}  # which listing each tombstone left

    def retain(self, accounts: Collection[str], now: float, departed: Collection[str] = ()) -> None:
        """Forget every account but `accounts`. Resources of `departed` accounts (gone from the
        organisation or the config) become tombstones, exactly like deleted resources; other
        accounts (moved to another shard) vanish at once, since another replica exports them."""
        for task in [t for t in self._status.keys() | self._live.keys() if t.account_id not in accounts]:
            for resource in self._live.pop(task, {}).values():
                if task.account_id in departed:
                    self._tombstones.setdefault(resource.key, Tombstone(resource, now))
                    self._tombstone_task[resource.key] = task
            self._status.pop(task, None)
        self._departed = (self._departed | set(departed)) - set(accounts)
        self._tombstones = {k: t for k, t in self._tombstones.items()
                            if k[0] in accounts or k[0] in self._departed}
        self._tombstone_task = {k: self._tombstone_task[k] for k in self._tombstones}
        self._departed &= {key[0] for key in self._tombstones}

    def retain_tasks(self, keep: Callable[[TaskKey], bool]) -> None:
        """Forget the tasks a new config no longer runs (a collector or region dropped): their
        resources were not deleted, so they get no tombstones; their series simply end."""
        for task in [t for t in self._status.keys() | self._live.keys() if not keep(t)]:
            self._live.pop(task, None)
            self._status.pop(task, None)
        self._tombstones = {k: t for k, t in self._tombstones.items() if keep(self._tombstone_task[k])}
        self._tombstone_task = {k: self._tombstone_task[k] for k in self._tombstones}

    def apply(self, results: Iterable[TaskResult], now: float, sweep_duration: float = 0.0,
              accounts_up: Mapping[str, bool] | None = None) -> Snapshot:
        results = list(results)
        for result in results:
            previous = self._status.get(result.task)
            if not result.ok:
                self._status[result.task] = TaskStatus(
                    ok=False, duration=result.duration, error=result.error,
                    last_success=previous.last_success if previous else None,
                    resources=len(self._live.get(result.task, {})))
                continue
            # A task lists one type in one account and region (S3: globally unique bucket
            # names), so the resource id alone keys it: no key tuple kept per resource.
            current = {r.resource_id: r for r in result.resources or ()}
            for resource_id, gone in self._live.get(result.task, {}).items():
                if resource_id not in current and gone.key not in self._tombstones:
                    self._tombstones[gone.key] = Tombstone(gone, now)
                    self._tombstone_task[gone.key] = result.task
            if self._tombstones:
                for resource in current.values():
                    self._tombstones.pop(resource.key, None)
            self._live[result.task] = current
            self._status[result.task] = TaskStatus(
                ok=True, duration=result.duration, error="", last_success=now,
                resources=len(current))
        if self._tombstone_task:  # expired or resurrected tombstones
            self._tombstones = {k: t for k, t in self._tombstones.items()
                                if now - t.deleted_at < self.prune_window}
            self._tombstone_task = {k: self._tombstone_task[k] for k in self._tombstones}
        sweep_ok = not results or any(r.ok for r in results)
        if sweep_ok:
            self._last_success = now
        return Snapshot(
            taken_at=now,
            resources=tuple(r for task in self._live.values() for r in task.values()),
            tombstones=tuple(self._tombstones.values()),
            tasks=dict(self._status),
            sweep_duration=sweep_duration,
            sweep_ok=sweep_ok,
            last_success=self._last_success,
            accounts_up=dict(accounts_up or {}),
        )


def timestamp(value: Any) -> float | None:
    """AWS datetimes (or ISO strings, as Lambda returns) -> Unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    return float(value)


def tag_dict(tag_list: Iterable[Mapping[str, str]] | None) -> Mapping[str, str]:
    """AWS [{'Key': k, 'Value': v}] (any capitalisation) -> read-only {k: v}. Keys and
    values but Name are interned: an estate repeats a few dozen keys and values everywhere."""
    tags = {}
    for tag in tag_list or ():
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            value = tag.get("Value", tag.get("value", "")) or ""
            tags[sys.intern(key)] = value if key == "Name" else sys.intern(value)  # names are unique
    return FrozenMapping(tags) if tags else EMPTY

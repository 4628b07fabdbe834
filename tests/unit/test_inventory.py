"""Pruning rules of the pure inventory: tombstones, expiry, and no tombstone on failure."""

from polo.model import Inventory, Resource, TaskKey, TaskResult

EC2 = TaskKey("111111111111", "us-east-1", "ec2_instances")
S3 = TaskKey("111111111111", "global", "s3_buckets")


def instance(i, task=EC2):
    return Resource(task.account_id, task.region, "ec2_instance", f"i-{i}", state="running")


def ok(task, *resources):
    return TaskResult(task, tuple(resources), 0.1)


def failed(task, error="Throttling"):
    return TaskResult(task, None, 0.1, error=error)


def keys(snapshot):
    return sorted(r.resource_id for r in snapshot.resources)


def test_vanished_resource_becomes_tombstone_then_disappears():
    inventory = Inventory(prune_window=86400)
    inventory.apply([ok(EC2, instance(1), instance(2))], now=1000)
    snap = inventory.apply([ok(EC2, instance(1))], now=2000)
    assert keys(snap) == ["i-1"]
    assert [(t.resource.resource_id, t.deleted_at) for t in snap.tombstones] == [("i-2", 2000)]

    snap = inventory.apply([ok(EC2, instance(1))], now=2000 + 86399)
    assert len(snap.tombstones) == 1  # still inside the prune window
    snap = inventory.apply([ok(EC2, instance(1))], now=2000 + 86400)
    assert snap.tombstones == ()  # gone: no ghost series


def test_failed_listing_keeps_last_known_state_and_no_tombstone():
    inventory = Inventory(prune_window=86400)
    inventory.apply([ok(EC2, instance(1), instance(2)), ok(S3)], now=1000)
    snap = inventory.apply([failed(EC2, "AccessDenied"), ok(S3)], now=2000)
    assert keys(snap) == ["i-1", "i-2"]
    assert snap.tombstones == ()
    status = snap.tasks[EC2]
    assert (status.ok, status.error, status.last_success, status.resources) == (False, "AccessDenied", 1000, 2)
    assert snap.tasks[S3].ok and snap.sweep_ok


def test_tombstone_is_not_reset_by_later_failures_and_reappearance_revives():
    inventory = Inventory(prune_window=100)
    inventory.apply([ok(EC2, instance(1))], now=0)
    inventory.apply([ok(EC2)], now=10)
    snap = inventory.apply([failed(EC2)], now=20)
    assert [t.deleted_at for t in snap.tombstones] == [10]
    snap = inventory.apply([ok(EC2, instance(1))], now=30)
    assert keys(snap) == ["i-1"] and snap.tombstones == ()


def test_first_failure_knows_nothing_and_sweep_with_only_failures_is_not_a_success():
    inventory = Inventory(prune_window=100)
    snap = inventory.apply([failed(EC2)], now=5)
    assert snap.resources == () and snap.tasks[EC2].last_success is None
    assert not snap.sweep_ok and snap.last_success is None


def test_accounts_are_isolated():
    other = TaskKey("222222222222", "us-east-1", "ec2_instances")
    inventory = Inventory(prune_window=100)
    inventory.apply([ok(EC2, instance(1)), ok(other, instance(9, other))], now=0)
    snap = inventory.apply([ok(EC2, instance(1)), failed(other)], now=10)
    assert {(r.account_id, r.resource_id) for r in snap.resources} == {
        ("111111111111", "i-1"), ("222222222222", "i-9")}

"""The demo's churn, swept by the real collectors and inventory: every round after the first
sweep deletes and creates resources in two dev accounts (tombstones and creations to see),
keeps the estate's size, leaves prod alone and adds one finding Polo cannot price."""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import pytest
from support.common import make_config, use_fake_aws
from polo.aws.access import AwsAccess
from polo.collectors import rds_instances
from polo.demo.churn import BATCH_INSTANCES, Churn
from polo.demo.estate import build_estate
from polo.model import Inventory
from polo.prices.pricing import PriceTable
from polo.sweep import Sweeper

ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")  # prod, dev, dev, dev


@pytest.fixture(scope="module")
def rounds():
    """Snapshots of four sweeps with a churn round before each of the last three."""
    patch = pytest.MonkeyPatch()
    use_fake_aws(patch)
    from moto import mock_aws

    try:
        with mock_aws():
            config = make_config(ACCOUNTS)
            build_estate(config.accounts, config.regions, dt.datetime.now(dt.UTC))
            churn = Churn(config.accounts, config.regions)
            sweeper = Sweeper(config, AwsAccess(config.aws, home_region=config.regions[0]))
            inventory = Inventory(config.sweep.prune_window)
            snapshots = []
            for round_ in range(4):
                if round_:
                    churn.step()
                outcome = sweeper.run()
                snapshots.append(inventory.apply(outcome.results, time.time(), outcome.duration))
            yield config, snapshots
    finally:
        patch.undo()


def ids(snapshot, account_id, resource_type=None):
    return {r.resource_id for r in snapshot.resources
            if r.account_id == account_id and resource_type in (None, r.resource_type)}


def tombstoned(snapshot, account_id):
    return Counter(t.resource.resource_type for t in snapshot.tombstones if t.resource.account_id == account_id)


def test_churn_runs_in_the_first_two_dev_accounts_only(rounds):
    _, snapshots = rounds
    first, last = snapshots[0], snapshots[-1]
    assert ids(first, ACCOUNTS[0]) == ids(last, ACCOUNTS[0])  # prod
    assert ids(first, ACCOUNTS[3]) == ids(last, ACCOUNTS[3])  # third dev account
    for account_id in ACCOUNTS[1:3]:
        assert ids(first, account_id) != ids(last, account_id)
    assert not any(s.tombstones for s in snapshots[:1])


def test_first_round_cleans_up_and_launches_a_batch(rounds):
    _, (before, after, *_) = rounds
    for account_id in ACCOUNTS[1:3]:
        assert tombstoned(after, account_id) == {"ebs_volume": 1, "ebs_snapshot": 1}
        new = ids(after, account_id) - ids(before, account_id)
        kinds = Counter(r.resource_type for r in after.resources if r.resource_id in new)
        expected = {"ec2_instance": BATCH_INSTANCES, "ebs_volume": 1 + BATCH_INSTANCES, "ebs_snapshot": 1}
        if account_id == ACCOUNTS[1]:
            expected["rds_instance"] = 1
        assert kinds == expected, account_id  # each instance brings its root volume


def test_later_rounds_retire_the_previous_batch_and_keep_the_size(rounds):
    _, (before, first, second, third) = rounds
    for account_id in ACCOUNTS[1:3]:
        assert tombstoned(second, account_id) >= Counter({"ebs_volume": 1, "ebs_snapshot": 1})
        batch_one = ids(first, account_id, "ec2_instance") - ids(before, account_id)
        states = {r.resource_id: r.state for r in second.resources}
        assert [states[i] for i in batch_one] == ["terminated"] * BATCH_INSTANCES
        assert not batch_one & ids(third, account_id), "terminated instances stop being listed"
        assert tombstoned(third, account_id)["ec2_instance"] == BATCH_INSTANCES
        assert len(ids(third, account_id)) == len(ids(second, account_id))


def test_the_stopped_io2_database_has_no_price(rounds):
    _, snapshots = rounds
    (database,) = [r for r in snapshots[-1].resources if r.resource_type == "rds_instance"
                   and r.resource_id.endswith("-analytics-io2")]
    assert database.state == "stopped"
    prices = PriceTable.load()
    assert prices.monthly_cost(database) is None and rds_instances.storage_cost(prices, database) is None

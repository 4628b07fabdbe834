"""Sharding accounts over replicas: a stable partition for every replica count, minimal movement
when a replica is added, and replicas that sweep and serve only their own accounts."""
import math
import random

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.common import make_config
from polo.exporter import Exporter
from polo.config import ConfigError, ShardSettings
from polo.costs.source import CostSource
from polo.web.exporter_http import landing_page
from polo.accounts.sharding import shard_of

ACCOUNTS = 5000
MAX_TOTAL = 64


@pytest.fixture(scope="module")
def owners():
    """total -> the owner of each synthetic account id, from shard_of itself."""
    rng = random.Random(20250621)
    ids = [f"{rng.randrange(10**12):012d}" for _ in range(ACCOUNTS)]
    return ids, {total: [shard_of(a, total) for a in ids] for total in range(1, MAX_TOTAL + 1)}


def test_every_account_lands_in_exactly_one_shard_for_every_total(owners):
    ids, by_total = owners
    for total, owned in by_total.items():
        assert all(0 <= shard < total for shard in owned)
        # owns() of every replica agrees with shard_of: exactly one replica claims each account
        for account_id in ids[:40]:
            claims = [i for i in range(total) if ShardSettings(index=i, total=total).owns(account_id)]
            assert claims == [shard_of(account_id, total)]
        # and no replica is starved or overloaded: within 5 standard deviations of n/total
        p = 1 / total
        counts = [owned.count(shard) for shard in range(total)]
        assert all(abs(c - ACCOUNTS * p) <= 5 * math.sqrt(ACCOUNTS * p * (1 - p)) + 1 for c in counts), counts


def test_adding_a_replica_moves_about_one_in_n_plus_one_and_only_to_it(owners):
    """Tolerance: the moved count is binomial(n, 1/(N+1)); it must stay within 4 standard
    deviations of n/(N+1), and every moved account must move to the new shard N."""
    _, by_total = owners
    for total in range(1, MAX_TOTAL):
        before, after = by_total[total], by_total[total + 1]
        moved = [(b, a) for b, a in zip(before, after) if b != a]
        assert all(a == total for _, a in moved)
        p = 1 / (total + 1)
        expected, sigma = ACCOUNTS * p, math.sqrt(ACCOUNTS * p * (1 - p))
        assert abs(len(moved) - expected) <= 4 * sigma, (total, len(moved), expected)


def test_shard_config_is_validated():
    with pytest.raises(ConfigError, match=r"shard.index: must be below shard.total \(2\), got 2"):
        make_config(shard={"index": 2, "total": 2})
    with pytest.raises(ConfigError, match="shard.total: must be an integer >= 1"):
        make_config(shard={"index": 0, "total": 0})


def test_each_replica_sweeps_and_serves_only_its_share_and_only_shard_0_reads_costs(moto):
    ids = [f"{n:012d}" for n in range(100000000001, 100000000013)]
    served = []
    for index in range(3):
        config = make_config(accounts=ids, collectors=["vpcs"], shard={"index": index, "total": 3})
        exporter = Exporter(config)
        assert any(isinstance(s, CostSource) for s in exporter.sources) == (index == 0)
        exporter.sweep_once()
        text = exporter.payload.plain.decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        info = {s.labels["account_id"] for s in families["polo_account_info"].samples}
        swept = {s.labels["account_id"] for s in families["polo_collector_up"].samples}
        assert info == swept == {a for a in ids if shard_of(a, 3) == index}
        assert "shard" not in text  # no shard label: replicas differ only by their target labels
        page = landing_page(exporter).decode()
        assert f"{index} of 3" in page and all((a in page) == (a in info) for a in ids)
        served.append(info)
    assert set().union(*served) == set(ids) and sum(map(len, served)) == len(ids)

"""The sweep benchmark's estate: polo.demo.estate's realistic accounts, built through the proxy,
padded with tagged instances (each with its root volume) to `resources_per_region`.

Accounts are built in parallel processes (boto3 client creation is CPU-bound; moto is behind the
proxy anyway), with throttling off and no latency: building is not what is measured.
"""
from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from types import SimpleNamespace

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                    "AWS_DEFAULT_REGION": "us-east-1", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}


def use_fake_credentials() -> None:
    """Never a real profile or account: the simulated AWS ignores signatures anyway."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(FAKE_CREDENTIALS)


def build_one(account: dict, index: int, regions: list[str], endpoint: str,
              resources_per_region: int, now_iso: str) -> dict:
    use_fake_credentials()
    from polo.demo import estate

    now = dt.datetime.fromisoformat(now_iso)
    spec = SimpleNamespace(**account)
    built = estate.build_account(spec, index, regions, now, estate.AccountClients(endpoint))
    team = estate.TEAMS[index % len(estate.TEAMS)]
    for region, region_estate in built.regions.items():
        missing = resources_per_region - sum(region_estate.counts.values())
        if missing >= 2 and region_estate.ami_ids:
            ec2 = built.client("ec2", region)
            estate.run_instances(ec2, region_estate, region_estate.ami_ids[0], missing // 2, "t3.small",
                                 "batch", team, "gp3", f"{built.label}-{region}")
    return {"account_id": built.account_id, "counts": built.counts,
            "per_region": {r: sum(e.counts.values()) for r, e in built.regions.items()}}


def build(accounts: list[dict], regions: list[str], endpoint: str, resources_per_region: int,
          processes: int = 2) -> dict[str, dict]:
    """account id -> {'counts': resource_type -> n, 'per_region': region -> n}."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    with ProcessPoolExecutor(max(1, processes), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(build_one, account, index, list(regions), endpoint, resources_per_region, now)
                   for index, account in enumerate(accounts)]
        return {f.result()["account_id"]: f.result() for f in futures}

"""Churn for the running demo: between sweeps, people create and delete things.

Without it the demo estate never changes, and nothing about deletions (tombstones), creations
or growth can be seen. `Churn.step()` makes one round of changes in the first region of the
first `ACCOUNTS` dev accounts (config order), modest and deterministic:

* round 1 cleans up: deletes the estate's unattached `scratch` volume and one nightly snapshot,
  and a team starts a database on io2 storage (which Polo's price table lacks) and stops it:
  a finding Polo cannot price;
* every round k launches a small batch (`BATCH_INSTANCES` instances, one data volume and a
  snapshot of it, named `batch-k`), terminates the instances of round k-1 and deletes its
  volume and snapshot; AWS stops listing terminated instances after about an hour, so the
  simulated AWS forgets those of round k-2.

The estate therefore keeps its size while every sweep after the first sees resources appear
and vanish. `start_churn` runs a step every sweep interval, half an interval after the estate
is built, so the steps fall between the exporter's sweeps.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from moto.backends import get_backend

from polo.demo.estate import AccountClients, slug, tag_spec, tags

log = logging.getLogger(__name__)

ACCOUNTS = 2
BATCH_INSTANCES = 2
TEAM, SERVICE = "data", "batch"


@dataclass
class Batch:
    instance_ids: list[str] = field(default_factory=list)
    volume_id: str = ""
    snapshot_id: str = ""


@dataclass
class AccountChurn:
    account_id: str
    region: str
    label: str
    client: Callable[[str, str], Any]
    batches: dict[int, Batch] = field(default_factory=dict)

    @property
    def ec2(self):
        return self.client("ec2", self.region)

    def by_name(self, kind: str, name: str) -> list[dict]:
        reply = getattr(self.ec2, f"describe_{kind}")(Filters=[{"Name": "tag:Name", "Values": [name]}])
        return reply["Volumes" if kind == "volumes" else "Snapshots"]

    def clean_up(self, with_database: bool) -> None:
        """Round 1: the forgotten scratch volume and one nightly snapshot go; a stopped io2 DB arrives."""
        for volume in self.by_name("volumes", f"{self.label}-{self.region}-scratch"):
            self.ec2.delete_volume(VolumeId=volume["VolumeId"])
        for snapshot in self.by_name("snapshots", f"{self.label}-{self.region}-data-0-nightly")[:1]:
            self.ec2.delete_snapshot(SnapshotId=snapshot["SnapshotId"])
        if with_database:
            vpc = self.ec2.describe_vpcs(Filters=[
                {"Name": "tag:Name", "Values": [f"{self.label}-{self.region}-vpc"]}])["Vpcs"][0]
            group = self.ec2.describe_security_groups(Filters=[
                {"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["app"]}])
            rds = self.client("rds", self.region)
            identifier = f"{self.label}-analytics-io2"
            rds.create_db_instance(
                DBInstanceIdentifier=identifier, DBInstanceClass="db.m5.large", Engine="postgres",
                AllocatedStorage=100, StorageType="io2", Iops=3000, DBSubnetGroupName=f"{self.label}-db",
                VpcSecurityGroupIds=[group["SecurityGroups"][0]["GroupId"]], MasterUsername="polo",
                MasterUserPassword="polo-demo-password", Tags=tags(team=TEAM, service="analytics"))
            rds.stop_db_instance(DBInstanceIdentifier=identifier)

    def launch(self, round_: int) -> None:
        ec2 = self.ec2
        subnet = ec2.describe_subnets(Filters=[
            {"Name": "tag:Name", "Values": [f"{self.label}-{self.region}-*"]}])["Subnets"][0]
        image = ec2.describe_images(Owners=["self"])["Images"][0]
        name = f"{self.label}-{self.region}-batch-{round_}"
        reply = ec2.run_instances(
            ImageId=image["ImageId"], MinCount=BATCH_INSTANCES, MaxCount=BATCH_INSTANCES, InstanceType="t3.small",
            SubnetId=subnet["SubnetId"], TagSpecifications=tag_spec("instance", tags(name, TEAM, SERVICE)))
        volume_id = ec2.create_volume(
            AvailabilityZone=subnet["AvailabilityZone"], Size=20, VolumeType="gp3",
            TagSpecifications=tag_spec("volume", tags(f"{name}-data", TEAM, SERVICE)))["VolumeId"]
        snapshot_id = ec2.create_snapshot(
            VolumeId=volume_id, Description=f"{name} input",
            TagSpecifications=tag_spec("snapshot", tags(f"{name}-input", TEAM, SERVICE)))["SnapshotId"]
        self.batches[round_] = Batch([i["InstanceId"] for i in reply["Instances"]], volume_id, snapshot_id)

    def retire(self, round_: int) -> None:
        batch = self.batches.get(round_)
        if batch is None:
            return
        self.ec2.terminate_instances(InstanceIds=batch.instance_ids)
        self.ec2.delete_snapshot(SnapshotId=batch.snapshot_id)
        self.ec2.delete_volume(VolumeId=batch.volume_id)

    def forget(self, round_: int) -> None:
        """What AWS does an hour after termination: the instances are no longer listed."""
        batch = self.batches.pop(round_, None)
        if batch is None:
            return
        backend = get_backend("ec2")[self.account_id][self.region]
        for reservation_id, reservation in list(backend.reservations.items()):
            reservation.instances = [i for i in reservation.instances if i.id not in batch.instance_ids]
            if not reservation.instances:
                del backend.reservations[reservation_id]


class Churn:
    """Rounds of changes; `step()` makes the next one."""

    def __init__(self, accounts: Sequence[Any], regions: Sequence[str], clients: AccountClients | None = None):
        dev = [a for a in accounts if a.environment == "dev"][:ACCOUNTS]
        clients = clients or AccountClients()
        self.accounts = [AccountChurn(a.id, regions[0], slug(a.name), clients(a.id)) for a in dev]
        self.round = 0

    def step(self) -> None:
        self.round += 1
        for index, account in enumerate(self.accounts):
            if self.round == 1:
                account.clean_up(with_database=index == 0)
            account.forget(self.round - 2)
            account.retire(self.round - 1)
            account.launch(self.round)
        log.info("demo churn round %d in %d accounts", self.round, len(self.accounts))


CHURN_STOP_SECONDS = 1.0  # then the shutdown goes on; the round's errors are DEBUG


def start_churn(churn: Churn, interval: float) -> Callable[[], None]:
    """Run `churn.step()` every `interval` seconds from half an interval on; returns the stop."""
    stop = threading.Event()

    def loop() -> None:
        wait = interval / 2
        while not stop.wait(wait):
            try:
                churn.step()
            except Exception:  # the demo's AWS changing must never take the exporter down
                if stop.is_set():  # the simulation was torn down under this round: shutting down
                    log.debug("demo churn round ended by the shutdown", exc_info=True)
                else:
                    log.exception("demo churn round failed")
            wait = interval

    thread = threading.Thread(target=loop, name="polo-demo-churn", daemon=True)
    thread.start()

    def stop_churn() -> None:
        """Stop, and let a round in progress finish before the simulation it uses goes away."""
        stop.set()
        thread.join(CHURN_STOP_SECONDS)

    return stop_churn

"""Large inventories without moto: realistic Resources built directly, folded through the same
model, sources and exposition code the exporter runs (Inventory.apply -> Exporter.publish).

moto slows badly with estate size (DescribeInstances over 10,000 instances takes minutes), so the
/metrics and memory benchmarks build their 10,000 and 100,000 resources here instead. Every string
is a fresh object, as it is when botocore parses a reply, tags go through polo.model.tag_dict
from AWS's own list shape, references repeat as in an account (instances share a few subnets,
volumes point at instances, snapshots at volumes), and the mix, tags and `details` follow what
the collectors produce (see each collector's docstring).
"""
from __future__ import annotations

import random
import tempfile
import time

from polo.collectors.base import GIB
from polo.config import Config, parse_config
from polo.model import Resource, TaskKey, TaskResult, tag_dict


REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2")
TEAMS = ("payments", "search", "platform", "data", "web", "ml", "identity")
SERVICES = ("api", "worker", "batch", "web", "etl", "cache", "auth", "ingest")
# resource_type -> (collector, share of the estate); snapshots and volumes outnumber instances.
MIX = {
    "ec2_instance": ("ec2_instances", 0.24),
    "ebs_volume": ("ebs_volumes", 0.30),
    "ebs_snapshot": ("ebs_snapshots", 0.22),
    "security_group": ("security_groups", 0.08),
    "subnet": ("subnets", 0.04),
    "vpc": ("vpcs", 0.01),
    "elastic_ip": ("elastic_ips", 0.03),
    "nat_gateway": ("nat_gateways", 0.01),
    "load_balancer": ("load_balancers", 0.02),
    "rds_instance": ("rds_instances", 0.02),
    "lambda_function": ("lambda_functions", 0.02),
    "s3_bucket": ("s3_buckets", 0.01),
}


def bench_config(accounts: int = 16, regions: tuple[str, ...] = REGIONS, state_dir: str | None = None,
                 **extra) -> Config:
    """The example config's shape: `accounts` accounts (a third prod), tag labels and required tags."""
    data = {
        "accounts": [{"id": f"{100000000000 + 7919 * 1000 * n:012d}", "name": f"account-{n:03d}",
                      "environment": "prod" if n % 3 == 0 else "dev"} for n in range(accounts)],
        "regions": list(regions),
        "tags": {"labels": ["team", "service", "Environment"], "required": ["team", "service"]},
        "costs": {"enabled": False},
        "pricing": {"price_list": False},  # the simulated AWS behind the bench has no Price List
        "state_dir": state_dir or tempfile.mkdtemp(prefix="polo-bench-"),
    }
    data.update(extra)
    return parse_config(data, "bench.yml")


def _hex(rng: random.Random, n: int = 17) -> str:
    return format(rng.getrandbits(4 * n), f"0{n}x")


def fresh(text: str) -> str:
    """A new str object equal to `text`, as botocore's parsers hand every value over: equal
    strings from different replies (or different elements of one reply) are not shared."""
    return text.encode().decode()


class Place:
    """One account and region: its VPCs, subnets, instances and volumes, so that references
    (an instance's subnet, a volume's instance, a snapshot's volume) repeat as in AWS."""

    def __init__(self, rng: random.Random, account_id: str, region: str, environment: str):
        self.account_id, self.region, self.environment = account_id, region, environment
        self.vpcs = [f"vpc-0{_hex(rng)}" for _ in range(2)]
        self.subnets = [(f"subnet-0{_hex(rng)}", self.vpcs[i % 2]) for i in range(6)]
        self.instances: list[str] = []
        self.volumes: list[str] = []


def _tags(rng: random.Random, name: str, environment: str):
    """Through polo.model.tag_dict, from the [{'Key': ..., 'Value': ...}] list AWS returns."""
    if rng.random() < 0.2:  # every fifth resource untagged, as in real estates
        return tag_dict([])
    team, service = rng.choice(TEAMS), rng.choice(SERVICES)
    items = [("Name", name), ("team", team), ("service", service), ("Environment", environment),
             ("owner", f"{team}-oncall@example.com"), ("cost-center", f"cc-{100 + TEAMS.index(team)}"),
             ("managed-by", rng.choice(("terraform", "cloudformation", "console")))]
    if rng.random() < 0.3:
        items.append(("aws:cloudformation:stack-name", f"{team}-{service}-stack"))
    return tag_dict([{"Key": fresh(k), "Value": fresh(v)} for k, v in items])


def _resource(rng: random.Random, resource_type: str, place: Place, n: int, now: float) -> Resource:
    account_id, region, environment = place.account_id, place.region, place.environment
    subnet, vpc = (fresh(x) for x in rng.choice(place.subnets))
    created = now - rng.randrange(86400, 86400 * 900)
    zone = fresh(region + rng.choice("abc"))
    if resource_type == "ec2_instance":
        rid = f"i-0{_hex(rng)}"
        place.instances.append(rid)
        name = f"{rng.choice(SERVICES)}-{n}"
        state = fresh("stopped" if rng.random() < 0.1 else "running")
        return Resource(account_id, region, resource_type, rid, name, state, subnet, vpc, subnet, created,
                        fresh(rng.choice(("m5.large", "t3.medium", "c5.xlarge", "r5.2xlarge"))),
                        tags=_tags(rng, name, environment),
                        details={"state_since": created + 3600, "image_id": fresh(f"ami-0{n % 7:017x}"),
                                 "volume_ids": (f"vol-0{_hex(rng)}",), "public_ip": ""})
    if resource_type == "ebs_volume":
        rid = f"vol-0{_hex(rng)}"
        place.volumes.append(rid)
        attached = rng.random() < 0.85 and place.instances
        instance = fresh(rng.choice(place.instances)) if attached else ""
        kind = fresh(rng.choice(("gp3", "gp3", "gp2", "io1")))
        name = f"{rng.choice(SERVICES)}-data-{n}"
        return Resource(account_id, region, resource_type, rid, name,
                        fresh("in-use" if attached else "available"), instance, "", "", created, kind,
                        float(rng.choice((20, 50, 100, 500)) * GIB), tags=_tags(rng, name, environment),
                        details={"attached_instance_id": instance, "availability_zone": zone,
                                 "iops": 3000, "throughput": 125 if kind == "gp3" else None,
                                 "encrypted": rng.random() < 0.7})
    if resource_type == "ebs_snapshot":
        rid = f"snap-0{_hex(rng)}"
        volume = fresh(rng.choice(place.volumes)) if place.volumes else f"vol-0{_hex(rng)}"
        description = f"nightly backup of {volume}"
        return Resource(account_id, region, resource_type, rid, description, fresh("completed"), volume,
                        created=created, size_bytes=float(rng.choice((20, 100, 500)) * GIB),
                        tags=_tags(rng, description, environment),
                        details={"volume_id": volume, "ami_ids": (), "description": description})
    if resource_type == "security_group":
        rid = f"sg-0{_hex(rng)}"
        rules: tuple[tuple[str, str, str], ...] = (("tcp", "443", "0.0.0.0/0"),) if rng.random() < 0.2 else ()
        if rng.random() < 0.05:
            rules += (("tcp", "22", "0.0.0.0/0"), ("tcp", "22", "::/0"))
        return Resource(account_id, region, resource_type, rid, f"sg-{n}", "", vpc, vpc,
                        tags=_tags(rng, f"sg-{n}", environment),
                        details={"group_name": f"sg-{n}", "open_ingress": rules})
    if resource_type == "subnet":
        rid = f"subnet-0{_hex(rng)}"
        return Resource(account_id, region, resource_type, rid, f"subnet-{n}", fresh("available"), vpc, vpc, rid,
                        tags=_tags(rng, f"subnet-{n}", environment),
                        details={"cidr": f"10.{n % 256}.{rng.randrange(256)}.0/24", "availability_zone": zone})
    if resource_type == "vpc":
        rid = f"vpc-0{_hex(rng)}"
        return Resource(account_id, region, resource_type, rid, f"vpc-{n}", fresh("available"), account_id, rid,
                        tags=_tags(rng, f"vpc-{n}", environment),
                        details={"cidr": f"10.{n % 256}.0.0/16", "is_default": False})
    if resource_type == "elastic_ip":
        rid = f"eipalloc-0{_hex(rng)}"
        ip = f"203.0.{rng.randrange(256)}.{rng.randrange(256)}"
        instance = fresh(rng.choice(place.instances)) if rng.random() < 0.8 and place.instances else ""
        return Resource(account_id, region, resource_type, rid, ip,
                        fresh("associated" if instance else "unassociated"), instance,
                        tags=_tags(rng, ip, environment),
                        details={"public_ip": ip, "instance_id": instance, "nat_gateway_id": "",
                                 "network_interface_id": f"eni-0{_hex(rng)}" if instance else ""})
    if resource_type == "nat_gateway":
        rid = f"nat-0{_hex(rng)}"
        return Resource(account_id, region, resource_type, rid, f"egress-{n}", fresh("available"), subnet, vpc,
                        subnet, created, tags=_tags(rng, f"egress-{n}", environment),
                        details={"allocation_ids": (f"eipalloc-0{_hex(rng)}",),
                                 "bytes_out_7d": float(rng.randrange(0, 10 ** 11))})
    if resource_type == "load_balancer":
        name = f"{rng.choice(SERVICES)}-{n}"
        rid = f"arn:aws:elasticloadbalancing:{region}:{account_id}:loadbalancer/app/{name}/{_hex(rng, 16)}"
        registered = rng.randrange(0, 6)
        return Resource(account_id, region, resource_type, rid, name, fresh("active"), vpc, vpc, created=created,
                        resource_class=fresh("application"), tags=_tags(rng, name, environment),
                        details={"registered_targets": registered, "healthy_targets": registered,
                                 "target_groups": 1, "scheme": fresh("internet-facing"),
                                 "dns_name": f"{name}-{rng.randrange(10 ** 9)}.{region}.elb.amazonaws.com"})
    if resource_type == "rds_instance":
        name = f"{rng.choice(SERVICES)}-db-{n}"
        return Resource(account_id, region, resource_type, name, name, fresh("available"), vpc, vpc,
                        created=created, resource_class=fresh("db.m5.large"), size_bytes=float(200 * GIB),
                        tags=_tags(rng, name, environment),
                        details={"engine": fresh("postgres"), "multi_az": rng.random() < 0.5,
                                 "storage_type": fresh("gp3"), "arn": f"arn:aws:rds:{region}:{account_id}:db:{name}"})
    if resource_type == "lambda_function":
        name = f"{rng.choice(SERVICES)}-fn-{n}"
        return Resource(account_id, region, resource_type, name, name, fresh("Active"), account_id, created=created,
                        resource_class=fresh("python3.12"), size_bytes=float(rng.randrange(10 ** 4, 5 * 10 ** 7)),
                        tags=_tags(rng, name, environment),
                        details={"memory_mb": 512, "arn": f"arn:aws:lambda:{region}:{account_id}:function:{name}"})
    name = f"bucket-{account_id}-{n}"
    return Resource(account_id, region, "s3_bucket", name, name, "", account_id, created=created,
                    tags=_tags(rng, name, environment), details={"public_access_blocked": rng.random() < 0.9})


def task_results(config: Config, resources: int, seed: int = 1, now: float | None = None) -> list[TaskResult]:
    """`resources` Resources spread evenly over accounts and regions, grouped as the sweep's
    task results (one per account, region and collector; S3 under 'global')."""
    rng = random.Random(seed)
    now = now or time.time()
    accounts, regions = config.accounts, config.regions
    grouped: dict[TaskKey, list[Resource]] = {}
    places: dict[tuple[str, str], Place] = {}
    types = list(MIX)
    weights = [MIX[t][1] for t in types]
    counts = {t: int(round(resources * w / sum(weights))) for t, w in zip(types, weights)}
    counts["ebs_volume"] += resources - sum(counts.values())  # exact total
    n = 0
    for resource_type, count in counts.items():
        collector = MIX[resource_type][0]
        for _ in range(count):
            account = accounts[n % len(accounts)]
            region = regions[(n // len(accounts)) % len(regions)]
            place = places.get((account.id, region))
            if place is None:
                place = places[(account.id, region)] = Place(rng, account.id, region, account.environment)
            resource = _resource(rng, resource_type, place, n, now)
            key = TaskKey(account.id, "global" if collector == "s3_buckets" else region, collector)
            grouped.setdefault(key, []).append(resource)
            n += 1
    return [TaskResult(key, tuple(items), 0.5) for key, items in grouped.items()]


def publish_inventory(exporter, resources: int, seed: int = 1) -> float:
    """One synthetic sweep folded into `exporter` and published; returns the publish seconds."""
    results = task_results(exporter.config, resources, seed)
    accounts_up = {a.id: True for a in exporter.config.accounts}
    exporter.snapshot = exporter.inventory.apply(results, time.time(), 30.0, accounts_up)
    del results
    started = time.perf_counter()
    exporter.publish()
    return time.perf_counter() - started

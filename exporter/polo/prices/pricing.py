"""List-price estimates of what a resource costs a month.

Prices come from two places, asked in this order for every (region, kind, class) key:
the AWS Price List API's answers cached in state_dir (polo.prices.price_list_source fetches them in
the background, never on a scrape), then the table shipped in polo/data/prices.json (AWS's
public on-demand prices for two regions; its "source" and "as_of" say which). The bigger
services (EKS, ElastiCache, OpenSearch, SageMaker, DynamoDB, ECR, CloudWatch Logs) are
priced from the Price List API only.

Pure: no AWS, no clock, no logging. A price neither source has is None, never 0, so callers
can show the gap; `traced` also says which source answered.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping

from polo.model import GIB, Resource

GP3_BASELINE_IOPS = 3000  # included in the gp3 GB-month price
GP3_BASELINE_THROUGHPUT = 125  # MiB/s, included too
GP2_SMALL_VOLUME_GIB = 170  # gp2 volumes up to this size top out at 128 MiB/s, larger ones at 250
GP2_MAX_THROUGHPUT = 250
UNBILLED_NAT_STATES = ("deleting", "deleted", "failed")
# Where a price came from: polo_price_source_info's `source` label.
PRICE_LIST, TABLE = "price_list", "table"
PriceKey = tuple[str, ...]  # (region, kind, *classes), e.g. ("eu-west-1", "ec2_instance_hourly", "m5.large")


_SOURCES: ContextVar[set[str] | None] = ContextVar("price_sources", default=None)  # not a metric


def gp2_baseline_iops(size_gib: float) -> float:
    """gp2 performance scales with size: 3 IOPS per GiB, at least 100, at most 16,000."""
    return min(16000.0, max(100.0, 3.0 * size_gib))


@dataclass(frozen=True)
class PriceTable:
    source: str
    as_of: str
    hours_per_month: float
    regions: Mapping[str, Mapping[str, Any]]
    rds_engine_aliases: Mapping[str, str]
    rds_multi_az_factor: float
    # Prices read from the AWS Price List API, asked before the table: PriceKey -> a price
    # (or a list of tiers). polo.prices.price_list_source keeps it current from the keys in `asked`:
    # every key looked up since it last looked, so exactly what the inventory needs.
    price_list: Mapping[PriceKey, Any] = field(default_factory=dict, compare=False)
    asked: set[PriceKey] | None = field(default=None, compare=False)

    @classmethod
    def load(cls) -> "PriceTable":
        """The table shipped inside the package."""
        text = resources.files("polo").joinpath("data/prices.json").read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PriceTable":
        return cls(source=data["source"], as_of=data["as_of"],
                   hours_per_month=float(data["hours_per_month"]), regions=data["regions"],
                   rds_engine_aliases=data.get("rds_engine_aliases", {}),
                   rds_multi_az_factor=float(data.get("rds_multi_az_factor", 2)))

    def _price(self, region: str, *path: str) -> Any:
        """The price at `path` (a price, or a list of tiers): the Price List API's, else the
        table's; None when neither has it."""
        key = (region, *path)
        if self.asked is not None:
            self.asked.add(key)
        sources = _SOURCES.get()
        price = self.price_list.get(key)
        if price is not None:
            if sources is not None:
                sources.add(PRICE_LIST)
            return price
        node: Any = self.regions.get(region)
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        if node is not None and sources is not None:
            sources.add(TABLE)
        return node

    def traced(self, resource: Resource) -> tuple[float | None, frozenset[str]]:
        """monthly_cost, and the sources (PRICE_LIST, TABLE) that answered its lookups."""
        sources: set[str] = set()
        token = _SOURCES.set(sources)
        try:
            return self.monthly_cost(resource), frozenset(sources)
        finally:
            _SOURCES.reset(token)

    def monthly(self, hourly: float | None) -> float | None:
        return None if hourly is None else hourly * self.hours_per_month

    # --- per resource type ------------------------------------------------------------------

    def monthly_cost(self, resource: Resource) -> float | None:
        """Estimated USD a month at list price; None when the table has no price for it."""
        pricer = _PRICERS.get(resource.resource_type)
        return pricer(self, resource) if pricer else None

    def instance(self, r: Resource) -> float | None:
        """Compute only, while running: a stopped instance's volumes are billed as volumes."""
        if r.state != "running":
            return 0.0
        return self.monthly(self._price(r.region, "ec2_instance_hourly", r.resource_class))

    def volume(self, r: Resource) -> float | None:
        if r.size_bytes is None:
            return None
        return self.volume_of(r.region, r.resource_class, r.size_bytes / GIB,
                              r.details.get("iops"), r.details.get("throughput"))

    def volume_of(self, region: str, volume_type: str, size_gib: float, iops: float | None = None,
                  throughput: float | None = None) -> float | None:
        """Storage plus provisioned performance: gp3 IOPS and throughput above the included
        3,000 IOPS / 125 MiB/s, io1 per IOPS, io2 per IOPS in AWS's three tiers."""
        per_gb = self._price(region, "ebs_volume_gb_month", volume_type)
        performance = self._volume_performance(region, volume_type, iops, throughput)
        if per_gb is None or performance is None:
            return None
        return per_gb * size_gib + performance

    def _volume_performance(self, region: str, volume_type: str, iops: float | None,
                            throughput: float | None) -> float | None:
        if volume_type == "gp3":
            iops_price = self._price(region, "ebs_gp3_iops_month")
            throughput_price = self._price(region, "ebs_gp3_throughput_mibps_month")
            if iops_price is None or throughput_price is None:
                return None
            iops, throughput = iops or GP3_BASELINE_IOPS, throughput or GP3_BASELINE_THROUGHPUT
            return (max(0.0, iops - GP3_BASELINE_IOPS) * iops_price
                    + max(0.0, throughput - GP3_BASELINE_THROUGHPUT) * throughput_price)
        if volume_type == "io1":
            iops_price = self._price(region, "ebs_io1_iops_month")
            return None if iops_price is None else (iops or 0) * iops_price
        if volume_type == "io2":
            tiers = self._price(region, "ebs_io2_iops_month_tiers")
            if tiers is None:
                return None
            cost, remaining, floor = 0.0, float(iops or 0), 0.0
            for ceiling, price in tiers:
                band = remaining if ceiling is None else min(remaining, ceiling - floor)
                cost += band * price
                remaining -= band
                if ceiling is not None:
                    floor = ceiling
            return cost
        return 0.0

    def gp3_equivalent(self, region: str, size_gib: float, iops: float | None) -> float | None:
        """What a gp2 volume would cost as gp3 with at least its performance: gp2's baseline
        IOPS (bursts to 3,000 are covered by gp3's included 3,000) and, above 170 GiB, gp2's
        250 MiB/s. gp2's 128 MiB/s below 170 GiB counts as met by gp3's 125 MiB/s."""
        throughput = GP2_MAX_THROUGHPUT if size_gib > GP2_SMALL_VOLUME_GIB else GP3_BASELINE_THROUGHPUT
        return self.volume_of(region, "gp3", size_gib, max(iops or 0, gp2_baseline_iops(size_gib)),
                              throughput)

    def snapshot(self, r: Resource) -> float | None:
        """Standard tier at the source volume's size: an upper bound, since AWS bills only the
        blocks a snapshot stores and DescribeSnapshots does not report them."""
        per_gb = self._price(r.region, "ebs_snapshot_gb_month")
        if per_gb is None or r.size_bytes is None:
            return None
        return per_gb * r.size_bytes / GIB

    def elastic_ip(self, r: Resource) -> float | None:
        """Public IPv4 addresses are billed hourly since February 2024, associated or idle."""
        return self.monthly(self._price(r.region, "public_ipv4_hourly"))

    def nat_gateway(self, r: Resource) -> float | None:
        """Hourly charge only; data processing (per GB) is excluded."""
        if r.state in UNBILLED_NAT_STATES:
            return 0.0
        return self.monthly(self._price(r.region, "nat_gateway_hourly"))

    def load_balancer(self, r: Resource) -> float | None:
        """Hourly charge only; LCU/NLCU/GLCU usage is excluded."""
        return self.monthly(self._price(r.region, "load_balancer_hourly", r.resource_class))

    def rds_instance(self, r: Resource) -> float | None:
        """Instance hours (not while stopped) plus allocated storage; Multi-AZ doubles both.
        Provisioned IOPS and backup storage beyond the free allowance are excluded."""
        storage = self.rds_storage(r)
        if r.state == "stopped":
            return storage
        engine = str(r.details.get("engine", ""))
        hourly = self._price(r.region, "rds_instance_hourly",
                             self.rds_engine_aliases.get(engine, engine), r.resource_class)
        if hourly is None or storage is None:
            return None
        return hourly * self.hours_per_month * self._az_factor(r) + storage

    def rds_storage(self, r: Resource) -> float | None:
        """Allocated storage a month; billed whether the instance runs or is stopped."""
        per_gb = self._price(r.region, "rds_storage_gb_month", str(r.details.get("storage_type", "")))
        if per_gb is None or r.size_bytes is None:
            return None
        return per_gb * r.size_bytes / GIB * self._az_factor(r)

    def _az_factor(self, r: Resource) -> float:
        return self.rds_multi_az_factor if r.details.get("multi_az") else 1.0


    # --- the bigger services: priced from the Price List API only (the shipped table has none)

    def eks_cluster(self, r: Resource) -> float | None:
        """The control plane, billed by the hour whether or not anything runs on it. Nodes are
        EC2 instances (priced as such); extended-support surcharges are not included."""
        return self.monthly(self._price(r.region, "eks_cluster_hourly"))

    def elasticache_cluster(self, r: Resource) -> float | None:
        """Every node at its node type's hourly price for the engine (Valkey is cheaper)."""
        engine = str(r.details.get("engine", "redis"))
        hourly = self._price(r.region, "elasticache_node_hourly", engine, r.resource_class)
        return None if hourly is None else self.monthly(hourly * int(r.details.get("nodes") or 1))

    def opensearch_domain(self, r: Resource) -> float | None:
        """Data nodes, dedicated masters and EBS storage; UltraWarm and snapshots excluded."""
        nodes = ((r.resource_class, r.details.get("instance_count")),
                 (str(r.details.get("master_instance_type", "")), r.details.get("master_count")))
        hourly = self._hourly_nodes(r.region, "opensearch_instance_hourly", nodes)
        per_gb = self._price(r.region, "opensearch_storage_gb_month",
                             str(r.details.get("volume_type", "gp3"))) if r.size_bytes else 0.0
        if hourly is None or per_gb is None:
            return None
        return hourly * self.hours_per_month + per_gb * (r.size_bytes or 0) / GIB

    def sagemaker_endpoint(self, r: Resource) -> float | None:
        """Instances of every production variant at SageMaker hosting prices; serverless
        variants (no instance type) bill per use and add nothing."""
        nodes = [(instance_type, count) for _name, instance_type, count in r.details.get("variants") or ()]
        return self.monthly(self._hourly_nodes(r.region, "sagemaker_hosting_hourly", nodes))

    def _hourly_nodes(self, region: str, kind: str, nodes) -> float | None:
        """USD an hour for (instance type, count) pairs; pairs without a type or count add 0."""
        prices = [(self._price(region, kind, instance_type), int(count))
                  for instance_type, count in nodes if instance_type and count]
        if any(price is None for price, _count in prices):
            return None
        return sum(price * count for price, count in prices)

    def sagemaker_notebook(self, r: Resource) -> float | None:
        """The instance while InService, plus its ML storage volume always."""
        compute = self.sagemaker_notebook_compute(r)
        storage = self.sagemaker_notebook_storage(r)
        return None if compute is None or storage is None else compute + storage

    def sagemaker_notebook_compute(self, r: Resource) -> float | None:
        """What stopping the notebook saves: its instance hours (the volume stays)."""
        if r.state != "InService":
            return 0.0
        return self.monthly(self._price(r.region, "sagemaker_notebook_hourly", r.resource_class))

    def sagemaker_notebook_storage(self, r: Resource) -> float | None:
        if not r.size_bytes:
            return 0.0
        per_gb = self._price(r.region, "sagemaker_storage_gb_month")
        return None if per_gb is None else per_gb * r.size_bytes / GIB

    def dynamodb_table(self, r: Resource) -> float | None:
        """Storage for the table class, plus provisioned read and write capacity by the hour.
        On-demand requests bill per use and are excluded; so is the account's free tier."""
        table_class = str(r.details.get("table_class") or "STANDARD")
        per_gb = self._price(r.region, "dynamodb_storage_gb_month", table_class)
        cost = None if per_gb is None else per_gb * (r.size_bytes or 0) / GIB
        if r.resource_class != "PROVISIONED":
            return cost
        for kind, units in (("dynamodb_read_capacity_unit_hourly", r.details.get("read_capacity_units")),
                            ("dynamodb_write_capacity_unit_hourly", r.details.get("write_capacity_units"))):
            unit_hourly = self._price(r.region, kind, table_class)
            if cost is None or unit_hourly is None:
                cost = None
                continue
            cost += unit_hourly * float(units or 0) * self.hours_per_month
        return cost

    def ecr_repository(self, r: Resource) -> float | None:
        """Image storage per GB-month (an upper bound: shared layers count once per image)."""
        return self._storage(r, "ecr_storage_gb_month")

    def cloudwatch_log_group(self, r: Resource) -> float | None:
        """Archived log storage per GB-month; ingestion bills per use and is excluded."""
        return self._storage(r, "logs_storage_gb_month")

    def _storage(self, r: Resource, kind: str) -> float | None:
        per_gb = self._price(r.region, kind)
        return None if per_gb is None else per_gb * (r.size_bytes or 0) / GIB


_PRICERS = {
    "ec2_instance": PriceTable.instance,
    "ebs_volume": PriceTable.volume,
    "ebs_snapshot": PriceTable.snapshot,
    "elastic_ip": PriceTable.elastic_ip,
    "nat_gateway": PriceTable.nat_gateway,
    "load_balancer": PriceTable.load_balancer,
    "rds_instance": PriceTable.rds_instance,
    "eks_cluster": PriceTable.eks_cluster,
    "elasticache_cluster": PriceTable.elasticache_cluster,
    "opensearch_domain": PriceTable.opensearch_domain,
    "sagemaker_endpoint": PriceTable.sagemaker_endpoint,
    "sagemaker_notebook": PriceTable.sagemaker_notebook,
    "dynamodb_table": PriceTable.dynamodb_table,
    "ecr_repository": PriceTable.ecr_repository,
    "cloudwatch_log_group": PriceTable.cloudwatch_log_group,
}
# Resource types with a list price. S3, Lambda and ECS on Fargate bill by usage; VPCs, subnets,
# security groups and Auto Scaling groups are free; EKS node groups' and Auto Scaling groups'
# instances are priced as the EC2 instances they are. Those get no estimate at all.
PRICED_TYPES = tuple(_PRICERS)

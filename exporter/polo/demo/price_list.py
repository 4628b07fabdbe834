"""The AWS Price List Query API for the simulated AWS: a moto backend answering GetProducts.

moto 5.2 has no `pricing` service. `install_price_list()` registers this module as one, through
moto's own extension points (a BackendDict, a BaseResponse, the URL index and the module moto
imports a service's backends from), so in-process
mocks and a ThreadedMotoServer in this process both answer it; the returned undo removes it.

Replies have AWS's shape: FormatVersion aws_v1, PriceList items as JSON strings (product with
productFamily and attributes, terms with OnDemand and Reserved offers and price dimensions),
NextToken paging at MaxResults (at most 100). Filters are TERM_MATCH on any attribute or
productFamily, case-insensitive, as AWS does.

The catalogue is built per region on first use, for any region: us-east-1 list prices (the
shipped table's for EC2, EBS, VPC, ELB and RDS; public list prices for the bigger services
below) times a deterministic regional factor (1 in us-east-1 and us-west-2). Like AWS's, it
holds decoys a query must filter out: Windows, RHEL and dedicated instances, capacity
reservations, Multi-AZ storage, Infrequent Access tables, free tiers, reserved-only offers,
and usage types with a region prefix (EU-, APS2-, ...).

`refuse(code)` makes the API fail with an AWS error code (ThrottlingException,
AccessDeniedException) until `refuse(None)`: the outage drills of the tests.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import sys
from typing import Any, Callable, Mapping

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from polo.prices.pricing import PriceTable

SERVICE = "pricing"
MAX_RESULTS = 100
ON_DEMAND, RESERVED = "JRTCKXETXF", "4NA7Y494T4"
# us-east-1 public list prices of the services the shipped table does not cover (USD).
EKS_CLUSTER_HOURLY = 0.10
CACHE_NODE_HOURLY = {"cache.t3.micro": 0.017, "cache.t3.medium": 0.068, "cache.m5.large": 0.156,
                     "cache.m6g.large": 0.149, "cache.r5.large": 0.216, "cache.r6g.large": 0.206}
VALKEY_DISCOUNT = 0.8
OPENSEARCH_HOURLY = {"t3.small.search": 0.036, "t3.medium.search": 0.073, "m5.large.search": 0.142,
                     "m6g.large.search": 0.128, "r5.large.search": 0.186, "r6g.large.search": 0.167}
OPENSEARCH_STORAGE = {"GP2": 0.135, "GP3": 0.122, "PIOPS-Storage": 0.125, "Magnetic": 0.067}
SAGEMAKER_HOSTING_HOURLY = {"ml.t2.medium": 0.056, "ml.m5.large": 0.115, "ml.m5.xlarge": 0.23,
                            "ml.c5.large": 0.102, "ml.g4dn.xlarge": 0.736, "ml.p3.2xlarge": 3.825}
SAGEMAKER_NOTEBOOK_HOURLY = {"ml.t2.medium": 0.0464, "ml.t3.medium": 0.05, "ml.m5.xlarge": 0.23,
                             "ml.c5.xlarge": 0.204, "ml.g4dn.xlarge": 0.7364}
SAGEMAKER_STORAGE_GB_MONTH = 0.14
RDS_IO2_STORAGE_GB_MONTH = 0.125  # the shipped table has no io2 RDS storage; the demo's churn makes some
DYNAMODB = {"": {"Read": 0.00013, "Write": 0.00065, "storage": 0.25},
            "IA-": {"Read": 0.00016, "Write": 0.00081, "storage": 0.10}}
DYNAMODB_FREE_STORAGE_GB = 25
ECR_GB_MONTH = 0.10
LOGS_GB_MONTH = 0.03
STORAGE_NAMES = {"gp2": "General Purpose", "gp3": "General Purpose", "io1": "Provisioned IOPS",
                 "io2": "Provisioned IOPS", "st1": "Throughput Optimized HDD", "sc1": "Cold HDD",
                 "standard": "Magnetic"}
RDS_ENGINES = {"mysql": "MySQL", "postgres": "PostgreSQL"}
RDS_STORAGE_USAGE = {"gp2": ("General Purpose", "GP2-Storage"), "gp3": ("General Purpose-GP3", "GP3-Storage"),
                     "io1": ("Provisioned IOPS", "PIOPS-Storage"), "io2": ("Provisioned IOPS-IO2", "PIOPS-Storage-IO2"),
                     "standard": ("Magnetic", "StorageUsage")}


def region_prefix(region: str) -> str:
    """The usage-type prefix AWS gives a region's products: EU- for eu-west-1, else e.g. APS2-."""
    special = {"us-east-1": "USE1", "eu-west-1": "EU"}
    if region in special:
        return special[region] + "-"
    area, direction, number = region.split("-")
    return f"{area.upper()}{direction[0].upper()}{number}-"


def region_factor(region: str) -> float:
    """1 in the two US regions the shipped table has; 1.04 to 1.30 elsewhere, fixed per region."""
    if region in ("us-east-1", "us-west-2"):
        return 1.0
    digest = hashlib.blake2b(region.encode(), digest_size=4).digest()
    return round(1.04 + 0.26 * int.from_bytes(digest, "big") / 2 ** 32, 2)


def _price_text(usd: float) -> str:
    return f"{usd:.10f}"


class Catalogue:
    """One region's products, by service code."""

    def __init__(self, region: str, table: PriceTable):
        self.region = region
        self.factor = region_factor(region)
        self.prefix = region_prefix(region)
        self.products: dict[str, list[dict[str, Any]]] = {}
        us = table.regions["us-east-1"]
        self._ec2(us)
        self._network(us)
        self._rds(us)
        self._bigger_services()
        for products in self.products.values():
            products.sort(key=lambda p: p["product"]["sku"])

    def add(self, service: str, family: str, usage_type: str, usd: float | list[tuple[float, float]] | None,
            unit: str, reserved: bool = False, **attributes: str) -> None:
        """One product. `usd` is a rate, or (beginRange, rate) tiers; None: no on-demand term."""
        attributes = {"regionCode": self.region, "servicecode": service, "usagetype": usage_type,
                      "location": self.region, **attributes}
        sku = hashlib.sha1(json.dumps([service, family, attributes], sort_keys=True).encode()).hexdigest()[:16].upper()
        terms: dict[str, Any] = {}
        if usd is not None:
            tiers = usd if isinstance(usd, list) else [(0.0, usd)]
            dimensions = {}
            for n, (begin, rate) in enumerate(tiers):
                end = tiers[n + 1][0] if n + 1 < len(tiers) else "Inf"
                code = f"{sku}.{ON_DEMAND}.{6 + n}YS6EN2CT7"
                dimensions[code] = {
                    "unit": unit, "beginRange": f"{begin:g}", "endRange": f"{end:g}" if end != "Inf" else "Inf",
                    "description": f"${rate * self.factor:.4f} per {unit} for {usage_type}", "appliesTo": [],
                    "rateCode": code, "pricePerUnit": {"USD": _price_text(rate * self.factor)}}
            terms["OnDemand"] = {f"{sku}.{ON_DEMAND}": {
                "priceDimensions": dimensions, "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z",
                "offerTermCode": ON_DEMAND, "termAttributes": {}}}
        if reserved or usd is None:
            terms["Reserved"] = {f"{sku}.{RESERVED}": {
                "priceDimensions": {f"{sku}.{RESERVED}.2TG2D8R56U": {
                    "unit": "Quantity", "description": "Upfront Fee", "appliesTo": [],
                    "rateCode": f"{sku}.{RESERVED}.2TG2D8R56U", "pricePerUnit": {"USD": "512"}}},
                "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "offerTermCode": RESERVED,
                "termAttributes": {"LeaseContractLength": "1yr", "OfferingClass": "standard",
                                   "PurchaseOption": "All Upfront"}}}
        self.products.setdefault(service, []).append({
            "product": {"productFamily": family, "attributes": attributes, "sku": sku},
            "serviceCode": service, "terms": terms, "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z"})

    def _ec2(self, us: Mapping[str, Any]) -> None:
        box = "BoxUsage:" if self.region == "us-east-1" else self.prefix + "BoxUsage:"
        for instance_type, hourly in us["ec2_instance_hourly"].items():
            base = dict(instanceType=instance_type, tenancy="Shared", preInstalledSw="NA",
                        capacitystatus="Used", licenseModel="No License required", operatingSystem="Linux")
            self.add("AmazonEC2", "Compute Instance", box + instance_type, hourly, "Hrs", reserved=True, **base)
            self.add("AmazonEC2", "Compute Instance", box + instance_type + ".windows", hourly * 1.8, "Hrs",
                     **dict(base, operatingSystem="Windows", licenseModel="License Included"))
            self.add("AmazonEC2", "Compute Instance", box.replace("BoxUsage", "DedicatedUsage") + instance_type,
                     hourly * 1.1, "Hrs", **dict(base, tenancy="Dedicated"))
            self.add("AmazonEC2", "Compute Instance", box.replace("BoxUsage", "Reservation") + instance_type,
                     hourly, "Hrs", **dict(base, capacitystatus="UnusedCapacityReservation"))
            if instance_type.startswith("m5."):  # a listing with reserved terms only
                self.add("AmazonEC2", "Compute Instance", box + instance_type, None, "Hrs",
                         **dict(base, preInstalledSw="SQL Std"))
        ebs = self.prefix + "EBS:"
        for volume_type, per_gb in us["ebs_volume_gb_month"].items():
            self.add("AmazonEC2", "Storage", f"{ebs}VolumeUsage.{volume_type}", per_gb, "GB-Mo",
                     volumeApiName=volume_type, volumeType=STORAGE_NAMES.get(volume_type, volume_type))
        self.add("AmazonEC2", "System Operation", f"{ebs}VolumeP-IOPS.gp3", us["ebs_gp3_iops_month"], "IOPS-Mo",
                 volumeApiName="gp3", group="EBS IOPS")
        self.add("AmazonEC2", "Provisioned Throughput", f"{ebs}VolumeP-Throughput.gp3",
                 us["ebs_gp3_throughput_mibps_month"] * 1024, "GiBps-mo", volumeApiName="gp3")
        self.add("AmazonEC2", "System Operation", f"{ebs}VolumeP-IOPS.piops", us["ebs_io1_iops_month"], "IOPS-Mo",
                 volumeApiName="io1", group="EBS IOPS")
        for suffix, (_ceiling, rate) in zip(("", ".tier2", ".tier3"), us["ebs_io2_iops_month_tiers"]):
            self.add("AmazonEC2", "System Operation", f"{ebs}VolumeP-IOPS.io2{suffix}", rate, "IOPS-Mo",
                     volumeApiName="io2", group="EBS IOPS Tier " + (suffix[-1] if suffix else "1"))
        self.add("AmazonEC2", "Storage Snapshot", f"{ebs}SnapshotUsage", us["ebs_snapshot_gb_month"], "GB-Mo")
        self.add("AmazonEC2", "Storage Snapshot", f"{ebs}SnapshotArchiveStorage", 0.0125, "GB-Mo")
        self.add("AmazonEC2", "NAT Gateway", f"{self.prefix}NatGateway-Hours", us["nat_gateway_hourly"], "Hrs")
        self.add("AmazonEC2", "NAT Gateway", f"{self.prefix}NatGateway-Bytes", 0.045, "GB")

    def _network(self, us: Mapping[str, Any]) -> None:
        self.add("AmazonVPC", "VpcPublicIPv4Address", f"{self.prefix}PublicIPv4:InUseAddress",
                 us["public_ipv4_hourly"], "Hrs", group="VPCPublicIPv4Address")
        self.add("AmazonVPC", "VpcPublicIPv4Address", f"{self.prefix}PublicIPv4:IdleAddress",
                 us["public_ipv4_hourly"], "Hrs", group="VPCPublicIPv4Address")
        families = {"application": "Load Balancer-Application", "network": "Load Balancer-Network",
                    "gateway": "Load Balancer-Gateway"}
        for kind, hourly in us["load_balancer_hourly"].items():
            self.add("AWSELB", families[kind], f"{self.prefix}LoadBalancerUsage", hourly, "Hrs")
            self.add("AWSELB", families[kind], f"{self.prefix}LCUUsage", 0.008, "LCU-Hrs")

    def _rds(self, us: Mapping[str, Any]) -> None:
        for engine, classes in us["rds_instance_hourly"].items():
            for instance_class, hourly in classes.items():
                for deployment, factor in (("Single-AZ", 1.0), ("Multi-AZ", 2.0)):
                    usage = "InstanceUsage" if deployment == "Single-AZ" else "Multi-AZUsage"
                    self.add("AmazonRDS", "Database Instance", f"{self.prefix}{usage}:{instance_class}",
                             hourly * factor, "Hrs", instanceType=instance_class, deploymentOption=deployment,
                             databaseEngine=RDS_ENGINES[engine])
        for storage_type, per_gb in dict(us["rds_storage_gb_month"], io2=RDS_IO2_STORAGE_GB_MONTH).items():
            volume, usage = RDS_STORAGE_USAGE.get(storage_type, (storage_type, storage_type))
            for engine in ("MySQL", "PostgreSQL"):
                self.add("AmazonRDS", "Database Storage", f"{self.prefix}RDS:{usage}", per_gb, "GB-Mo",
                         volumeType=volume, deploymentOption="Single-AZ", databaseEngine=engine)
                self.add("AmazonRDS", "Database Storage", f"{self.prefix}RDS:Multi-AZ-{usage}", per_gb * 2,
                         "GB-Mo", volumeType=volume, deploymentOption="Multi-AZ", databaseEngine=engine)

    def _bigger_services(self) -> None:
        p = self.prefix
        self.add("AmazonEKS", "Compute", f"{p}AmazonEKS-Hours:perCluster", EKS_CLUSTER_HOURLY, "Hrs")
        self.add("AmazonEKS", "Compute", f"{p}AmazonEKS-Hours:extendedSupport", 0.60, "Hrs")
        self.add("AmazonEKS", "Compute", f"{p}Fargate-vCPU-Hours:perCPU", 0.04048, "Hrs")
        for node_type, hourly in CACHE_NODE_HOURLY.items():
            for engine, factor in (("Redis", 1.0), ("Memcached", 1.0), ("Valkey", VALKEY_DISCOUNT)):
                self.add("AmazonElastiCache", "Cache Instance", f"{p}NodeUsage:{node_type}", hourly * factor,
                         "Hrs", reserved=True, instanceType=node_type, cacheEngine=engine)
        for instance_type, hourly in OPENSEARCH_HOURLY.items():
            self.add("AmazonES", "Amazon OpenSearch Service Instance", f"{p}ESInstance:{instance_type}", hourly,
                     "Hrs", instanceType=instance_type)
        for media, per_gb in OPENSEARCH_STORAGE.items():
            self.add("AmazonES", "Amazon OpenSearch Service Volume", f"{p}ES:{media}-Storage", per_gb, "GB-Mo",
                     storageMedia=media)
        for instance_type, hourly in SAGEMAKER_HOSTING_HOURLY.items():
            self.add("AmazonSageMaker", "ML Instance", f"{p}Host:{instance_type}", hourly, "Hrs",
                     instanceType=instance_type, component="Hosting")
            self.add("AmazonSageMaker", "ML Instance", f"{p}Train:{instance_type}", hourly * 0.9, "Hrs",
                     instanceType=instance_type, component="Training")
        for instance_type, hourly in SAGEMAKER_NOTEBOOK_HOURLY.items():
            self.add("AmazonSageMaker", "ML Instance", f"{p}Notebk:{instance_type}", hourly, "Hrs",
                     instanceType=instance_type, component="Notebook")
        self.add("AmazonSageMaker", "ML Storage", f"{p}Notebk:VolumeUsage.gp2", SAGEMAKER_STORAGE_GB_MONTH,
                 "GB-Mo", component="Notebook")
        self.add("AmazonSageMaker", "ML Storage", f"{p}Host:VolumeUsage.gp2", SAGEMAKER_STORAGE_GB_MONTH, "GB-Mo",
                 component="Hosting")
        for ia, rates in DYNAMODB.items():
            for access in ("Read", "Write"):
                free = [(0.0, 0.0), (18600.0, rates[access])]  # 25 units a month free, then the rate
                self.add("AmazonDynamoDB", "Provisioned IOPS", f"{p}{ia}{access}CapacityUnit-Hrs", free,
                         "ReadCapacityUnit-Hrs" if access == "Read" else "WriteCapacityUnit-Hrs",
                         group=f"DDB-{access}Units")
            storage = [(0.0, 0.0), (float(DYNAMODB_FREE_STORAGE_GB), rates["storage"])] if not ia \
                else rates["storage"]
            self.add("AmazonDynamoDB", "Database Storage", f"{p}{ia}TimedStorage-ByteHrs", storage, "GB-Mo",
                     volumeType="Amazon DynamoDB - Indexed DataStore" + (" - IA" if ia else ""))
        self.add("AmazonDynamoDB", "Database Storage", f"{p}TimedPITRStorage-ByteHrs", 0.20, "GB-Mo")
        self.add("AmazonECR", "EC2 Container Registry", f"{p}TimedStorage-ByteHrs", ECR_GB_MONTH, "GB-Mo")
        self.add("AmazonCloudWatch", "Storage Snapshot", f"{p}TimedStorage-ByteHrs", LOGS_GB_MONTH, "GB-Mo")
        self.add("AmazonCloudWatch", "Data Payload", f"{p}DataProcessing-Bytes", 0.50, "GB")


@functools.lru_cache(maxsize=None)
def catalogue(region: str) -> Catalogue:
    return Catalogue(region, PriceTable.load())


def _matches(product: dict[str, Any], filters: list[dict[str, str]]) -> bool:
    fields = dict(product["product"]["attributes"], productFamily=product["product"]["productFamily"])
    return all(str(fields.get(f["Field"], "")).lower() == str(f["Value"]).lower() for f in filters)


class PriceListBackend(BaseBackend):
    """GetProducts over the demo catalogue; `refused` is the outage drill's error code."""

    refused: str | None = None

    @property
    def _url_module(self) -> Any:  # moto looks for url_bases and url_paths in a urls module
        return sys.modules[__name__]

    def get_products(self, service_code: str, filters: list[dict[str, str]], max_results: int,
                     next_token: str | None) -> tuple[list[str], str | None]:
        if PriceListBackend.refused:
            raise JsonRESTError(PriceListBackend.refused, "simulated Price List failure")
        if not 1 <= max_results <= MAX_RESULTS:
            raise JsonRESTError("InvalidParameterException", f"MaxResults must be 1 to {MAX_RESULTS}")
        regions = [f["Value"] for f in filters if f["Field"] == "regionCode"]
        if len(regions) != 1 or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", regions[0]):
            raise JsonRESTError("InvalidParameterException", "demo Price List: filter on one regionCode")
        matching = [p for p in catalogue(regions[0]).products.get(service_code, ()) if _matches(p, filters)]
        start = 0
        if next_token:
            try:
                start = int(base64.b64decode(next_token).decode().split(":")[1])
            except (ValueError, IndexError, UnicodeDecodeError):
                raise JsonRESTError("InvalidNextTokenException", "bad NextToken") from None
        page = matching[start:start + max_results]
        end = start + len(page)
        token = base64.b64encode(f"{service_code}:{end}".encode()).decode() if end < len(matching) else None
        return [json.dumps(p) for p in page], token


class PriceListResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    def get_products(self) -> str:
        params = json.loads(self.body or "{}")
        items, token = pricing_backends[self.current_account][self.region].get_products(
            params.get("ServiceCode", ""), params.get("Filters", []), int(params.get("MaxResults", MAX_RESULTS)),
            params.get("NextToken"))
        reply: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": items}
        if token:
            reply["NextToken"] = token
        return json.dumps(reply)


url_bases = [r"https?://(api\.)?pricing\.(.+)\.amazonaws\.com"]
url_paths = {"{0}/$": PriceListResponse.dispatch}
pricing_backends = BackendDict(PriceListBackend, SERVICE)


def refuse(code: str | None) -> None:
    """Fail every GetProducts with this AWS error code from now on (None: answer again)."""
    PriceListBackend.refused = code


def install_price_list() -> Callable[[], None]:
    """Make moto answer the Price List API; returns the undo."""
    import moto.backend_index as index

    pattern = ("pricing", re.compile(url_bases[0]))
    sys.modules["moto.pricing"] = sys.modules[__name__]  # where moto.backends.get_backend looks
    index.backend_url_patterns.insert(0, pattern)

    def undo() -> None:
        refuse(None)
        if pattern in index.backend_url_patterns:
            index.backend_url_patterns.remove(pattern)
        sys.modules.pop("moto.pricing", None)

    return undo


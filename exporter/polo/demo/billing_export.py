"""The demo's billing exports: FOCUS 1.0 and CUR 2.0, as AWS Data Exports writes them to S3.

Every (account, service, day) adds up to the demo's Cost Explorer figure (polo.demo.costs'
CostModel) in both formats, so the billing metrics and the Cost Explorer ones can be checked
against each other to the cent. Within that figure: 5 % tax, a 2 % credit in dev accounts
(promotional credits), and the usage, of which 85 % is spread over the estate's resources of
that service (the recent periods only; older ones bill per service, with no resource ids) and
the rest is unattributed (requests, data transfer). Prod accounts cover 40 % of their EC2
compute with a Compute Savings Plan and 50 % of RDS with Reserved Instances; the commitment's
fee is billed on the same service, so the totals stay Cost Explorer's.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from polo.collectors import RESOURCE_TYPES
from polo.collectors.base import CollectContext
from polo.config import BillingExportSettings, Config
from polo.costs.budget import month_start, next_month_start
from polo.demo.costs import SERVICES, CostModel, unit
from polo.demo.estate import AccountClients
from polo.model import Resource

log = logging.getLogger(__name__)

BUCKET = "polo-demo-billing"
PREFIX = "exports"
EXPORTS = {"focus": "polo-focus", "cur2": "polo-cur2"}
TAX, DEV_CREDIT, ATTRIBUTED = 0.05, 0.02, 0.85
RESOURCE_PERIODS = 2  # the current and previous billing period bill per resource
REWRITE_SECONDS = 8 * 3600  # AWS refreshes the current period up to three times a day
COMMITMENTS = {  # service -> (FOCUS category, covered share, effective rate, usage type)
    "Amazon Elastic Compute Cloud - Compute": ("Spend", 0.40, 0.72, "USE1-BoxUsage:m5.large"),
    "Amazon Relational Database Service": ("Usage", 0.50, 0.60, "USE1-InstanceUsage:db.r5.large"),
}
EC2_OTHER = "EC2 - Other"
# An AWS cost category of the demo: prod accounts belong to the product, dev ones to engineering.
COST_CATEGORY, BUSINESS_UNIT = "BusinessUnit", {"prod": "Product", "dev": "Engineering"}
# The Cost Explorer service each priced (or billed) resource type's cost appears under; the
# model has no ECR or ElastiCache line, so their storage and nodes bill with the nearest one.
SERVICE_OF_TYPE = {
    "ec2_instance": "Amazon Elastic Compute Cloud - Compute", "ebs_volume": EC2_OTHER, "ebs_snapshot": EC2_OTHER,
    "elastic_ip": EC2_OTHER, "nat_gateway": EC2_OTHER, "rds_instance": "Amazon Relational Database Service",
    "elasticache_cluster": "Amazon Relational Database Service", "load_balancer": "Amazon Elastic Load Balancing",
    "s3_bucket": "Amazon Simple Storage Service", "lambda_function": "AWS Lambda", "dynamodb_table": "Amazon DynamoDB",
    "sagemaker_endpoint": "Amazon SageMaker", "sagemaker_notebook": "Amazon SageMaker",
    "eks_cluster": "Amazon Elastic Container Service for Kubernetes",
    "ecr_repository": "Amazon Elastic Container Service for Kubernetes",
    "opensearch_domain": "Amazon OpenSearch Service", "cloudwatch_log_group": "Amazon CloudWatch",
}


@dataclass(frozen=True)
class BilledResource:
    account_id: str
    region: str
    resource_id: str
    service: str
    tags: dict[str, str] = field(hash=False)
    resource_type: str = ""


EMPTY: dict[str, Any] = {"billed": 0.0, "effective": 0.0, "covered": 0.0, "unused": 0.0, "tags": {}}


@dataclass
class Lines:
    """Line items, column by column (FOCUS-like names; `kind` is CUR 2.0's line item type)."""

    columns: dict[str, list[Any]] = field(default_factory=lambda: {name: [] for name in (
        "day", "account", "service", "region", "charge", "billed", "effective", "resource_id", "usage_type",
        "pricing", "commitment", "status", "kind", "covered", "unused", "tags", "resource_type",
        "business_unit")})

    def add(self, **row: Any) -> None:
        for name, values in self.columns.items():
            values.append(row[name] if name in row else EMPTY.get(name, ""))


def estate_resources(config: Config, client_of, stopped: threading.Event | None = None) -> list[BilledResource]:
    """The billable resources of the simulated estate, found with Polo's own collectors."""
    found: list[Resource] = []
    for account in config.accounts:
        if stopped is not None and stopped.is_set():
            break
        client = client_of(account.id)
        for resource_type in RESOURCE_TYPES:
            if resource_type.name not in SERVICE_OF_TYPE:
                continue
            regions = ["global"] if resource_type.scope == "global" else config.regions
            for region in regions:
                ctx = CollectContext(account_id=account.id, region=region, home_region=config.regions[0], client=client)
                found.extend(resource_type.collect(ctx))
    return billed_resources(config, found)


def billed_resources(config: Config, resources: Iterable[Resource]) -> list[BilledResource]:
    """The billable ones of `resources` (a sweep's, or estate_resources'), with their service;
    a global resource bills in the home region."""
    return [BilledResource(r.account_id, config.regions[0] if r.region == "global" else r.region, r.resource_id,
                           SERVICE_OF_TYPE[r.resource_type], dict(r.tags), r.resource_type)
            for r in resources if r.resource_type in SERVICE_OF_TYPE]


def line_items(model: CostModel, days: Iterable[dt.date], resources: Sequence[BilledResource],
               per_resource: bool, home_region: str) -> Lines:
    """Every line item of `days` (complete days)."""
    by_service: dict[tuple[str, str], list[BilledResource]] = {}
    for billed in resources:
        by_service.setdefault((billed.account_id, billed.service), []).append(billed)
    lines = Lines()
    for day in days:
        start = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
        for account_id, account in model.accounts.items():
            for service in SERVICES:
                total = model.daily_cost(account_id, service, day)
                common = dict(day=start, account=account_id, service=service,
                              business_unit=BUSINESS_UNIT[account.environment])
                credit = -total * DEV_CREDIT if account.environment == "dev" else 0.0
                tax = total * TAX
                lines.add(**common, region="", charge="Tax", billed=tax, effective=tax, kind="Tax")
                if credit:
                    lines.add(**common, region=home_region, charge="Credit", billed=credit, effective=credit,
                              kind="Credit")
                usage = total - tax - credit
                owners = by_service.get((account_id, service), []) if per_resource else []
                weights = [0.5 + unit("bill", r.resource_id) for r in owners]
                shares: list[tuple[BilledResource | None, float]] = [
                    (r, usage * ATTRIBUTED * w / sum(weights)) for r, w in zip(owners, weights)]
                shares.append((None, usage - sum(usd for _, usd in shares)))
                commitment = COMMITMENTS.get(service) if account.environment == "prod" else None
                for owner, usd in shares:
                    _usage(lines, common, owner, usd, commitment, home_region)
    return lines


def _usage(lines: Lines, common: dict, resource: BilledResource | None, usd: float,
           commitment: tuple[str, float, float, str] | None, home_region: str) -> None:
    where = dict(common, region=resource.region if resource else home_region,
                 resource_id=resource.resource_id if resource else "", tags=resource.tags if resource else {},
                 resource_type=resource.resource_type if resource else "")
    usage_type = commitment[3] if commitment else ""
    if commitment is None:
        lines.add(**where, charge="Usage", billed=usd, effective=usd, usage_type=usage_type, pricing="Standard",
                  kind="Usage")
        return
    category, share, rate, _ = commitment
    covered = usd * share
    lines.add(**where, charge="Usage", billed=usd - covered, effective=usd - covered, usage_type=usage_type,
              pricing="Standard", kind="Usage")
    lines.add(**where, charge="Usage", billed=0.0, effective=covered * rate, usage_type=usage_type,
              pricing="Committed", commitment=category, status="Used", covered=covered,
              kind="SavingsPlanCoveredUsage" if category == "Spend" else "DiscountedUsage")
    # The commitment's fee for this usage, billed in full and amortized into the covered usage;
    # FOCUS shows the part no usage used as an Unused line, CUR 2.0 on the fee line itself.
    unused = covered * (1 - rate)
    account_wide = dict(where, resource_id="", tags={}, resource_type="")
    lines.add(**account_wide, charge="Purchase", billed=covered, effective=0.0, commitment=category,
              covered=covered, unused=unused, kind="SavingsPlanRecurringFee" if category == "Spend" else "RIFee")
    lines.add(**account_wide, charge="Usage", billed=0.0, effective=unused, commitment=category, status="Unused",
              pricing="Committed", kind="Unused")


# FOCUS 1.0's service categories of the demo's services, and its regions' names.
SERVICE_CATEGORY = {"Amazon Elastic Compute Cloud - Compute": "Compute", "EC2 - Other": "Storage",
                    "Amazon Relational Database Service": "Databases", "Amazon SageMaker": "AI and Machine Learning",
                    "Amazon Simple Storage Service": "Storage", "Amazon Elastic Container Service for Kubernetes":
                    "Compute", "Amazon OpenSearch Service": "Analytics", "Amazon Elastic Load Balancing": "Networking",
                    "Amazon Virtual Private Cloud": "Networking", "Amazon CloudWatch": "Management and Governance",
                    "Amazon DynamoDB": "Databases", "Amazon CloudFront": "Networking", "AWS Lambda": "Compute",
                    "AWS Key Management Service": "Security", "Amazon Route 53": "Networking"}
REGION_NAME = {"us-east-1": "US East (N. Virginia)", "us-west-2": "US West (Oregon)", "eu-west-1": "Europe (Ireland)",
               "eu-central-1": "Europe (Frankfurt)", "ap-south-1": "Asia Pacific (Mumbai)"}
FREQUENCY = {"Usage": "Usage-Based", "Tax": "Usage-Based", "Purchase": "Recurring", "Credit": "One-Time"}
HOURLY_RATE = 0.10  # the demo's consumed quantity: usage dollars at $0.10 an hour


def focus_table(lines: Lines, accounts: dict[str, str] | None = None, payer: str = "") -> pa.Table:
    """FOCUS 1.0 with AWS columns (x_UsageType). `accounts`: id -> name; `payer`: the billing
    account. Every column FOCUS 1.0 requires is present (tests/e2e/test_focus_validator.py)."""
    c, names = lines.columns, accounts or {}
    n = len(c["day"])
    categories = c["commitment"]
    usage = [charge == "Usage" and billed != 0 for charge, billed in zip(c["charge"], c["billed"])]
    quantity = [billed / HOURLY_RATE if used else None for used, billed in zip(usage, c["billed"])]
    periods = [(d.replace(day=1), next_month_start(d.date()).isoformat()) for d in c["day"]]
    commitment_ids = [f"arn:aws:savingsplans::{payer or a}:savingsplan/demo-{a}" if x == "Spend" else
                      f"arn:aws:ec2:us-east-1:{a}:reserved-instances/demo-{a}" if x == "Usage" else None
                      for x, a in zip(categories, c["account"])]
    timestamp = pa.timestamp("ms", tz="UTC")
    skus = [usage_type or f"{service}:{charge}" for usage_type, service, charge in
            zip(c["usage_type"], c["service"], c["charge"])]

    def text(values) -> pa.Array:
        return pa.array([v or None for v in values], pa.string())

    return pa.table({
        "AvailabilityZone": pa.nulls(n, pa.string()),
        "BilledCost": pa.array(c["billed"], pa.float64()),
        "BillingAccountId": pa.array([payer or a for a in c["account"]], pa.string()),
        "BillingAccountName": pa.array([names.get(payer or a, "") or None for a in c["account"]], pa.string()),
        "BillingCurrency": pa.array(["USD"] * n),
        "BillingPeriodStart": pa.array([start for start, _ in periods], timestamp),
        "BillingPeriodEnd": pa.array([dt.datetime.fromisoformat(end).replace(tzinfo=dt.timezone.utc)
                                      for _, end in periods], timestamp),
        "ChargeCategory": c["charge"],
        "ChargeClass": pa.nulls(n, pa.string()),
        "ChargeDescription": pa.array([f"{charge} of {service}" for charge, service in zip(c["charge"], c["service"])]),
        "ChargeFrequency": pa.array([FREQUENCY[charge] for charge in c["charge"]]),
        "ChargePeriodStart": pa.array(c["day"], timestamp),
        "ChargePeriodEnd": pa.array([d + dt.timedelta(days=1) for d in c["day"]], timestamp),
        "CommitmentDiscountCategory": text(categories),
        "CommitmentDiscountId": pa.array(commitment_ids, pa.string()),
        "CommitmentDiscountName": pa.array([i.rsplit("/", 1)[-1] if i else None for i in commitment_ids], pa.string()),
        "CommitmentDiscountStatus": text(c["status"]),
        "CommitmentDiscountType": pa.array([{"Spend": "Compute Savings Plans", "Usage": "Reserved Instance"}.get(x)
                                            for x in categories], pa.string()),
        "ConsumedQuantity": pa.array(quantity, pa.float64()),
        "ConsumedUnit": pa.array(["Hours" if q is not None else None for q in quantity], pa.string()),
        "ContractedCost": pa.array([max(billed, covered) for billed, covered in zip(c["billed"], c["covered"])],
                                   pa.float64()),
        "ContractedUnitPrice": pa.array([HOURLY_RATE if q is not None else None for q in quantity], pa.float64()),
        "EffectiveCost": pa.array(c["effective"], pa.float64()),
        "InvoiceIssuer": pa.array(["Amazon Web Services, Inc."] * n),
        "ListCost": pa.array([max(billed, covered) for billed, covered in zip(c["billed"], c["covered"])],
                             pa.float64()),
        "ListUnitPrice": pa.array([HOURLY_RATE if q is not None else None for q in quantity], pa.float64()),
        "PricingCategory": text(c["pricing"]),
        "PricingQuantity": pa.array(quantity, pa.float64()),
        "PricingUnit": pa.array(["Hours" if q is not None else None for q in quantity], pa.string()),
        "Provider": pa.array(["AWS"] * n),
        "Publisher": pa.array(["AWS"] * n),
        "RegionId": text(c["region"]),
        "RegionName": pa.array([REGION_NAME.get(r) for r in c["region"]], pa.string()),
        "ResourceId": text(c["resource_id"]),
        "ResourceName": text(c["resource_id"]),
        "ResourceType": text(c["resource_type"]),
        "ServiceCategory": pa.array([SERVICE_CATEGORY.get(s, "Other") for s in c["service"]]),
        "ServiceName": c["service"],
        "SkuId": pa.array(skus),
        "SkuPriceId": pa.array([f"{sku}:{pricing or 'None'}" for sku, pricing in zip(skus, c["pricing"])]),
        "SubAccountId": c["account"],
        "SubAccountName": pa.array([names.get(a) for a in c["account"]], pa.string()),
        "Tags": pa.array([json.dumps(tags, sort_keys=True) for tags in c["tags"]]),  # FOCUS: a JSON object
        "x_CostCategories": pa.array([json.dumps({COST_CATEGORY: unit}) for unit in c["business_unit"]]),
        "x_UsageType": text(c["usage_type"]),
    })


def cur2_table(lines: Lines) -> pa.Table:
    """CUR 2.0: covered usage shows its on-demand cost, negated by a SavingsPlanNegation line;
    Reserved Instance usage bills 0; a commitment's fee line carries its unused part."""
    c = lines.columns
    n = len(c["day"])
    columns: dict[str, list[Any]] = {name: [] for name in (
        "line_item_usage_start_date", "line_item_usage_account_id", "line_item_product_code", "product_region_code",
        "line_item_line_item_type", "line_item_unblended_cost", "line_item_resource_id", "line_item_usage_type",
        "pricing_term", "savings_plan_savings_plan_effective_cost", "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment", "reservation_effective_cost",
        "reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_recurring_fee",
        "resource_tags", "cost_category", "product")}

    def add(i: int, kind: str, unblended: float, **extra: float) -> None:
        values = {"line_item_usage_start_date": c["day"][i], "line_item_usage_account_id": c["account"][i],
                  "line_item_product_code": c["service"][i], "product_region_code": c["region"][i],
                  "line_item_line_item_type": kind, "line_item_unblended_cost": unblended,
                  "line_item_resource_id": c["resource_id"][i], "line_item_usage_type": c["usage_type"][i],
                  "pricing_term": "OnDemand" if kind == "Usage" else "",
                  "resource_tags": [("user_" + k, v) for k, v in c["tags"][i].items()],
                  "cost_category": [(COST_CATEGORY, c["business_unit"][i])],
                  "product": [("product_name", c["service"][i])]}
        for name, values_of in columns.items():
            values_of.append(values.get(name, extra.get(name, 0.0)))

    for i in range(n):
        kind, covered = c["kind"][i], c["covered"][i]
        if kind == "SavingsPlanCoveredUsage":
            add(i, kind, covered, savings_plan_savings_plan_effective_cost=c["effective"][i])
            add(i, "SavingsPlanNegation", -covered)
        elif kind == "DiscountedUsage":
            add(i, kind, 0.0, reservation_effective_cost=c["effective"][i])
        elif kind == "SavingsPlanRecurringFee":
            add(i, kind, c["billed"][i], savings_plan_total_commitment_to_date=covered,
                savings_plan_used_commitment=covered - c["unused"][i])
        elif kind == "RIFee":
            add(i, kind, c["billed"][i], reservation_unused_recurring_fee=c["unused"][i])
        elif kind == "Unused":  # on the fee line in CUR 2.0
            continue
        else:
            add(i, kind, c["billed"][i])
    types = {"line_item_usage_start_date": pa.timestamp("ms", tz="UTC"),
             "resource_tags": pa.map_(pa.string(), pa.string()), "cost_category": pa.map_(pa.string(), pa.string()),
             "product": pa.map_(pa.string(), pa.string())}
    return pa.table({name: pa.array(values, types.get(name)) for name, values in columns.items()})


def parquet_bytes(table: pa.Table, row_group_size: int = 50_000) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size, compression="snappy")
    return sink.getvalue()


def periods(model: CostModel, today: dt.date) -> list[dt.date]:
    """Billing periods (their 1st) from the month before the golden date's to today's."""
    first = month_start(month_start(model.golden) - dt.timedelta(days=1))
    months, month = [], first
    while month <= today:
        months.append(month)
        month = next_month_start(month)
    return months


def write_period(s3, fmt: str, period: dt.date, table: pa.Table, execution: str) -> None:
    """The period's data file, then its manifest (AWS writes the manifest last)."""
    name, label = EXPORTS[fmt], period.strftime("%Y-%m")
    key = f"{PREFIX}/{name}/data/BILLING_PERIOD={label}/{name}-00001.snappy.parquet"
    s3.put_object(Bucket=BUCKET, Key=key, Body=parquet_bytes(table))
    manifest = {"executionId": execution, "exportName": name,
                "billingPeriod": {"start": f"{period}T00:00:00Z", "end": f"{next_month_start(period)}T00:00:00Z"},
                "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
                "dataFiles": [f"s3://{BUCKET}/{key}"]}
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}/metadata/BILLING_PERIOD={label}/{name}-Manifest.json",
                  Body=json.dumps(manifest).encode())


class DemoExports:
    """Both exports of the simulated estate, delivered into the payer's demo bucket; then, as AWS
    does, the current period rewritten every REWRITE_SECONDS (a new execution, so a new
    manifest) with the days completed since, until stop()."""

    def __init__(self, config: Config, now: dt.datetime, clients: AccountClients):
        self.config, self.now, self.clients = config, now, clients
        self.stopped = threading.Event()

    @property
    def s3(self):
        return self.clients(self.config.costs.account or self.config.accounts[0].id)("s3", self.config.regions[0])

    def create_bucket(self) -> None:
        """The bucket alone: an export that has delivered nothing yet."""
        create_bucket(self.s3)

    def deliver(self, swept: Iterable[Resource] | None = None) -> bool:
        """Every period of both exports, billing the `swept` resources (by default the estate's,
        found afresh), then the rewrites; False if stop() came first."""
        started = time.monotonic()
        resources = (estate_resources(self.config, self.clients, self.stopped) if swept is None
                     else billed_resources(self.config, swept))
        rows = write_exports(self.config, self.s3, resources, self.now, self.stopped)
        if self.stopped.is_set():
            return False
        log.info("simulated billing exports: %d FOCUS line items, %d resources, in %.1fs", rows, len(resources),
                 time.monotonic() - started)
        threading.Thread(target=self._rewrites, args=(resources,), name="polo-demo-billing-rewrites",
                         daemon=True).start()
        return True

    def _rewrites(self, resources: Sequence[BilledResource]) -> None:
        while not self.stopped.wait(REWRITE_SECONDS):
            try:
                rewrite_current_period(self.config, self.s3, resources, dt.datetime.now(dt.timezone.utc))
            except Exception:  # the demo goes on with the last delivery, as with a late AWS one
                log.exception("simulated billing export: rewriting the current period failed")

    def stop(self) -> None:
        self.stopped.set()


def create_bucket(s3) -> None:
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def write_exports(config: Config, s3, resources: Sequence[BilledResource], now: dt.datetime,
                  stopped: threading.Event | None = None) -> int:
    """Both exports, every period (until `stopped`), into the demo bucket of `s3` (the payer's
    client). Returns the number of FOCUS line items written."""
    create_bucket(s3)
    months = periods(CostModel(config), now.date())
    rows = 0
    for index, period in enumerate(months):
        if stopped is not None and stopped.is_set():
            break
        rows += _write_period(config, s3, resources, period, now, index >= len(months) - RESOURCE_PERIODS)
    return rows


def rewrite_current_period(config: Config, s3, resources: Sequence[BilledResource], now: dt.datetime) -> int:
    """The current billing period again, through yesterday, under a new execution id."""
    return _write_period(config, s3, resources, month_start(now.date()), now, True)


def _write_period(config: Config, s3, resources: Sequence[BilledResource], period: dt.date, now: dt.datetime,
                  per_resource: bool) -> int:
    end = min(next_month_start(period), now.date())
    days = [period + dt.timedelta(days=n) for n in range((end - period).days)]
    lines = line_items(CostModel(config), days, resources, per_resource, config.regions[0])
    execution = f"demo-{now:%Y%m%dT%H%M%S}-{period:%Y%m}"
    focus = focus_table(lines, {a.id: a.name for a in config.accounts}, config.costs.account or "")
    write_period(s3, "focus", period, focus, execution)
    write_period(s3, "cur2", period, cur2_table(lines), execution)
    return focus.num_rows


def demo_settings(config: Config) -> BillingExportSettings:
    """The demo's FOCUS export, read with the payer's role, its cost category allocated."""
    return BillingExportSettings(bucket=BUCKET, prefix=PREFIX, name=EXPORTS["focus"], format="focus",
                                 account=config.costs.account, cost_categories=(COST_CATEGORY,))

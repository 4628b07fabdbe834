"""Cleanup rules, pure: every waste finding in a snapshot, priced in dollars a month.

Each rule is a small pure function of one resource and a RuleContext (thresholds, prices, the
rest of the snapshot, `now` and the first-seen memory); `evaluate` runs them all and returns the
findings plus the memory to keep. Reasons are fixed phrases (no timestamps, no amounts) so a
finding keeps one series for as long as it lasts. No I/O: polo.actions.source reads and writes
the memory and turns findings into metrics.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from polo.collectors import RESOURCE_TYPES, rds_instances, sagemaker_notebooks
from polo.config import ActionSettings
from polo.actions.first_seen import Key
from polo.model import GIB, Resource, Snapshot
from polo.prices.pricing import PriceTable

DAY = 86400.0
# Conditions the first-seen memory ages, when AWS gives no time for them.
UNATTACHED, STOPPED, NO_HEALTHY_TARGETS = "unattached", "stopped", "no_healthy_targets"
NO_NODES, IN_SERVICE = "no_nodes", "in_service"
# The nat_gateways and sagemaker_endpoints collectors sum their CloudWatch metric over 7 days.
TRAFFIC_WINDOW_DAYS = 7
# EC2 instances carrying one of these tags are nodes of the EKS cluster the tag names:
# self-managed nodes `kubernetes.io/cluster/<name>` (any value), managed ones `eks:cluster-name`.
NODE_TAG_PREFIX, NODE_CLUSTER_TAG = "kubernetes.io/cluster/", "eks:cluster-name"
GONE_INSTANCE_STATES = ("shutting-down", "terminated")
# The types the missing_tags rule checks; AWS-made defaults are left out (see `aws_default`).
TAGGABLE_TYPES = tuple(t.name for t in RESOURCE_TYPES if t.taggable)


@dataclass(frozen=True)
class Finding:
    resource: Resource
    action: str
    reason: str
    savings: float | None  # USD a month if acted on; None when a price is missing


class Index:
    """Lookups the rules need across resources of one snapshot."""

    def __init__(self, snapshot: Snapshot):
        self.by_key = {r.key: r for r in snapshot.resources}
        self.volumes_of: dict[tuple[str, str, str], set[str]] = {}
        self.default_vpcs: set[tuple[str, str, str]] = set()
        self.clusters_with_nodes: set[tuple[str, str, str]] = set()
        for r in snapshot.resources:
            if r.resource_type == "ebs_volume" and r.parent_id:
                self.volumes_of.setdefault((r.account_id, r.region, r.parent_id), set()).add(r.resource_id)
            elif r.resource_type == "vpc" and r.details.get("is_default"):
                self.default_vpcs.add((r.account_id, r.region, r.resource_id))
            elif r.resource_type == "ec2_instance" and r.state not in GONE_INSTANCE_STATES:
                for cluster in node_of(r):
                    self.clusters_with_nodes.add((r.account_id, r.region, cluster))
        # Where volumes and instances were listed at least once: only there does a missing volume
        # mean "gone", or a cluster without tagged instances "no nodes".
        self.volumes_listed = self.listed(snapshot, "ebs_volumes")
        self.instances_listed = self.listed(snapshot, "ec2_instances")
        # Where some listing failed this sweep: resources missing there may just be unlisted.
        self.uncertain = {(t.account_id, t.region) for t, status in snapshot.tasks.items()
                          if not status.ok}

    @staticmethod
    def listed(snapshot: Snapshot, collector: str) -> set[tuple[str, str]]:
        return {(t.account_id, t.region) for t, status in snapshot.tasks.items()
                if t.collector == collector and status.last_success is not None}

    def get(self, r: Resource, resource_type: str, resource_id: str) -> Resource | None:
        return self.by_key.get((r.account_id, r.region, resource_type, resource_id))


def node_of(instance: Resource) -> set[str]:
    """The EKS clusters whose node tags the instance carries."""
    clusters = {key[len(NODE_TAG_PREFIX):] for key in instance.tags if key.startswith(NODE_TAG_PREFIX)}
    if instance.tags.get(NODE_CLUSTER_TAG):
        clusters.add(instance.tags[NODE_CLUSTER_TAG])
    return clusters


@dataclass
class RuleContext:
    settings: ActionSettings
    prices: PriceTable
    index: Index
    now: float
    remembered: Mapping[Key, float]
    observed: dict[Key, float]  # filled by held_since: the memory to keep

    def held_since(self, r: Resource, condition: str) -> float:
        """When Polo first saw `r` in `condition` (now, if this is the first time)."""
        key = r.key + (condition,)
        since = self.remembered.get(key, self.now)
        self.observed[key] = since
        return since

    def longer_than(self, since: float, days: float) -> bool:
        """Held for more than `days`; a threshold of 0 means "flag at once", first sighting
        (age 0) included."""
        return days <= 0 or self.now - since > days * DAY

    @staticmethod
    def larger_than(size_bytes: float | None, gib: float) -> bool:
        """Stores more than `gib`; a threshold of 0 flags whatever the size (unknown included)."""
        return gib <= 0 or (size_bytes is not None and size_bytes > gib * GIB)


def days(n: float) -> str:
    """1 -> '1 day', 7 -> '7 days', 1.5 -> '1.5 days'."""
    text = f"{n:g}"
    return f"{text} day" if text == "1" else f"{text} days"


def gibibytes(n: float) -> str:
    """1 -> '1 GiB', 0.5 -> '0.5 GiB'."""
    return f"{n:g} GiB"


def total(costs: Iterable[float | None]) -> float | None:
    """Sum, or None if any part has no price: a partial sum would hide the gap."""
    parts = list(costs)
    known = [c for c in parts if c is not None]
    return None if len(known) != len(parts) else sum(known)


Outcome = tuple[str, float | None] | None  # (reason, savings), or None when not flagged


# --- rules ------------------------------------------------------------------------------------

def unattached_volume(r: Resource, ctx: RuleContext) -> Outcome:
    """Deleting (after a snapshot, if needed) saves the whole volume."""
    if r.state != "available":
        return None
    limit = ctx.settings.volume_unattached_days
    if not ctx.longer_than(ctx.held_since(r, UNATTACHED), limit):
        return None
    return f"unattached for more than {days(limit)}", ctx.prices.monthly_cost(r)


def idle_elastic_ip(r: Resource, ctx: RuleContext) -> Outcome:
    """Every public IPv4 address is billed hourly; an unassociated one serves nothing."""
    if r.state != "unassociated":
        return None
    return "not associated", ctx.prices.monthly_cost(r)


def stopped_instance(r: Resource, ctx: RuleContext) -> Outcome:
    """A stopped instance costs no compute but its volumes are still billed: that is what
    terminating it saves. Age from AWS's StateTransitionReason when given, else memory."""
    if r.state != "stopped":
        return None
    since = r.details.get("state_since")
    if since is None:
        since = ctx.held_since(r, STOPPED)
    limit = ctx.settings.instance_stopped_days
    if not ctx.longer_than(since, limit):
        return None
    volume_ids = set(r.details.get("volume_ids") or ()) | ctx.index.volumes_of.get(
        (r.account_id, r.region, r.resource_id), set())
    volumes = [ctx.index.get(r, "ebs_volume", v) for v in sorted(volume_ids)]
    savings = total(ctx.prices.monthly_cost(v) if v else None for v in volumes)
    return f"stopped for more than {days(limit)}", savings


def orphaned_snapshot(r: Resource, ctx: RuleContext) -> Outcome:
    """Old snapshots of deleted volumes that no AMI needs are usually forgotten backups."""
    limit = ctx.settings.snapshot_age_days
    if r.created is None or not ctx.longer_than(r.created, limit):
        return None
    if r.details.get("ami_ids") or (r.account_id, r.region) not in ctx.index.volumes_listed:
        return None
    volume_id = r.details.get("volume_id") or r.parent_id
    if volume_id and ctx.index.get(r, "ebs_volume", volume_id):
        return None
    return (f"older than {days(limit)}, source volume gone, no AMI uses it",
            ctx.prices.monthly_cost(r))


def idle_load_balancer(r: Resource, ctx: RuleContext) -> Outcome:
    """A load balancer with nothing healthy behind it serves nothing but bills every hour."""
    if r.details.get("healthy_targets", 0) > 0:
        return None
    limit = ctx.settings.load_balancer_idle_days
    if not ctx.longer_than(ctx.held_since(r, NO_HEALTHY_TARGETS), limit):
        return None
    what = "registered" if r.details.get("registered_targets", 0) == 0 else "healthy"
    return f"no {what} targets for more than {days(limit)}", ctx.prices.monthly_cost(r)


def idle_nat_gateway(r: Resource, ctx: RuleContext) -> Outcome:
    """No bytes out in the collector's 7-day window; unknown traffic (None) is not idle.
    Gateways younger than the threshold are spared: they may not be in use yet."""
    if r.state != "available" or r.details.get("bytes_out_7d") != 0 or r.created is None:
        return None
    if not ctx.longer_than(r.created, ctx.settings.nat_gateway_idle_days):
        return None
    return f"no traffic in the last {days(TRAFFIC_WINDOW_DAYS)}", ctx.prices.monthly_cost(r)


def gp2_to_gp3(r: Resource, ctx: RuleContext) -> Outcome:
    """gp3 is cheaper per GB and includes 3,000 IOPS and 125 MiB/s; priced with enough paid
    IOPS and throughput to match the gp2 volume (PriceTable.gp3_equivalent). Unattached gp2
    volumes are left to unattached_volume: deleting beats converting."""
    if r.resource_class != "gp2" or r.state != "in-use" or r.size_bytes is None:
        return None
    now_cost = ctx.prices.monthly_cost(r)
    as_gp3 = ctx.prices.gp3_equivalent(r.region, r.size_bytes / GIB, r.details.get("iops"))
    reason = "gp3 costs less at the same IOPS and throughput"
    if now_cost is None or as_gp3 is None:
        return reason, None
    return (reason, now_cost - as_gp3) if now_cost > as_gp3 else None


def stopped_rds_instance(r: Resource, ctx: RuleContext) -> Outcome:
    """A stopped DB still bills its storage, and AWS starts it again after 7 days; the savings
    are the storage (a final snapshot keeps the data for less)."""
    if r.state != "stopped":
        return None
    return "stopped: storage still billed, AWS restarts it after 7 days", rds_instances.storage_cost(ctx.prices, r)


def idle_sagemaker_endpoint(r: Resource, ctx: RuleContext) -> Outcome:
    """No invocations in the collector's 7-day window: the instances bill by the hour, called or
    not. Unknown traffic (None) is not idle; endpoints younger than the threshold are spared (they
    may not be in use yet), and so are serverless ones (no instances: they bill per use)."""
    if r.state != "InService" or r.details.get("invocations_7d") != 0 or r.created is None:
        return None
    if not r.details.get("instance_count"):
        return None
    if not ctx.longer_than(r.created, ctx.settings.sagemaker_endpoint_idle_days):
        return None
    return f"no invocations in the last {days(TRAFFIC_WINDOW_DAYS)}", ctx.prices.monthly_cost(r)


def idle_eks_cluster(r: Resource, ctx: RuleContext) -> Outcome:
    """The control plane bills by the hour even with nothing to run: no managed node group, no
    Fargate profile and no node (an EC2 instance tagged for the cluster, see node_of). Only
    where instances were listed: elsewhere "no nodes" cannot be told from "not looked at"."""
    if r.state != "ACTIVE" or r.details.get("nodegroups") != 0 or r.details.get("fargate_profiles") != 0:
        return None
    place = (r.account_id, r.region)
    if place not in ctx.index.instances_listed or place + (r.resource_id,) in ctx.index.clusters_with_nodes:
        return None
    limit = ctx.settings.eks_cluster_idle_days
    if not ctx.longer_than(ctx.held_since(r, NO_NODES), limit):
        return None
    return f"no node groups, Fargate profiles or nodes for more than {days(limit)}", ctx.prices.monthly_cost(r)


def log_group_never_expires(r: Resource, ctx: RuleContext) -> Outcome:
    """Events kept forever pile up storage billed every month. A retention policy deletes the
    older events only: the savings (all of today's storage) are an upper bound."""
    if r.details.get("retention_days", 0) is not None:
        return None
    limit = ctx.settings.log_group_min_stored_gib
    if not ctx.larger_than(r.size_bytes, limit):
        return None
    return f"never expires, more than {gibibytes(limit)} stored", ctx.prices.monthly_cost(r)


def ecr_no_lifecycle(r: Resource, ctx: RuleContext) -> Outcome:
    """Without a lifecycle policy every image pushed stays and is billed. Expiring old images
    keeps the recent ones: the savings (all of today's storage) are an upper bound."""
    if r.details.get("lifecycle_policy") is not False:
        return None
    limit = ctx.settings.ecr_min_stored_gib
    if not ctx.larger_than(r.size_bytes, limit):
        return None
    return f"no lifecycle policy, more than {gibibytes(limit)} stored", ctx.prices.monthly_cost(r)


def notebook_left_running(r: Resource, ctx: RuleContext) -> Outcome:
    """An InService notebook bills its instance by the hour, used or not; stopping it keeps the
    volume. Age from the first-seen memory of InService. AWS's LastModifiedTime (moved by a start)
    can only make it younger: a notebook stopped and started between two sweeps looks continuously
    in service to the memory; AWS does not document the field as a start time, so it is a hint,
    never what makes a notebook old."""
    if r.state != "InService":
        return None
    since = ctx.held_since(r, IN_SERVICE)
    modified = r.details.get("last_modified")
    if modified is not None:
        since = max(since, modified)
    limit = ctx.settings.notebook_running_days
    if not ctx.longer_than(since, limit):
        return None
    return f"in service for more than {days(limit)}", sagemaker_notebooks.compute_cost(ctx.prices, r)


def aws_default(r: Resource, index: Index) -> bool:
    """AWS creates default VPCs, their subnets and every VPC's 'default' security group itself;
    nobody owns them, so they are not hygiene findings."""
    if r.resource_type == "vpc":
        return bool(r.details.get("is_default"))
    if r.resource_type == "subnet":
        return (r.account_id, r.region, r.vpc_id) in index.default_vpcs
    if r.resource_type == "security_group":
        return r.details.get("group_name") == "default"
    return False


def missing_tags(r: Resource, ctx: RuleContext) -> Outcome:
    """Hygiene, no savings: untagged resources cannot be charged back. Empty values count as
    missing."""
    missing = sorted(k for k in ctx.settings.required_tags if not r.tags.get(k))
    if not missing or aws_default(r, ctx.index):
        return None
    return "missing tags: " + ",".join(missing), 0.0


@dataclass(frozen=True)
class Rule:
    action: str
    resource_types: tuple[str, ...]
    check: Callable[[Resource, RuleContext], Outcome]


RULES = (
    Rule("unattached_volume", ("ebs_volume",), unattached_volume),
    Rule("idle_elastic_ip", ("elastic_ip",), idle_elastic_ip),
    Rule("stopped_instance", ("ec2_instance",), stopped_instance),
    Rule("orphaned_snapshot", ("ebs_snapshot",), orphaned_snapshot),
    Rule("idle_load_balancer", ("load_balancer",), idle_load_balancer),
    Rule("idle_nat_gateway", ("nat_gateway",), idle_nat_gateway),
    Rule("gp2_to_gp3", ("ebs_volume",), gp2_to_gp3),
    Rule("stopped_rds_instance", ("rds_instance",), stopped_rds_instance),
    Rule("idle_sagemaker_endpoint", ("sagemaker_endpoint",), idle_sagemaker_endpoint),
    Rule("idle_eks_cluster", ("eks_cluster",), idle_eks_cluster),
    Rule("log_group_never_expires", ("cloudwatch_log_group",), log_group_never_expires),
    Rule("ecr_no_lifecycle", ("ecr_repository",), ecr_no_lifecycle),
    Rule("notebook_left_running", ("sagemaker_notebook",), notebook_left_running),
    Rule("missing_tags", TAGGABLE_TYPES, missing_tags),
)


def evaluate(snapshot: Snapshot, settings: ActionSettings, prices: PriceTable,
             remembered: Mapping[Key, float]) -> tuple[list[Finding], dict[Key, float]]:
    """All findings at snapshot time, and the first-seen memory to keep.

    Memory is kept for conditions that still hold (exempt resources included, so removing the
    tag shows the real age) and for resources a failed listing may have hidden; it is dropped
    when the condition ends or the resource is gone.
    """
    index = Index(snapshot)
    ctx = RuleContext(settings, prices, index, snapshot.taken_at, remembered, {})
    by_type: dict[str, list[Rule]] = {}
    for rule in RULES:
        for resource_type in rule.resource_types:
            by_type.setdefault(resource_type, []).append(rule)
    findings = []
    for r in snapshot.resources:
        exempt = settings.exempt_tag in r.tags
        for rule in by_type.get(r.resource_type, ()):
            outcome = rule.check(r, ctx)
            if outcome is not None and not exempt:
                findings.append(Finding(r, rule.action, *outcome))
    memory = dict(ctx.observed)
    for key, since in remembered.items():
        if key[:4] not in index.by_key and key[:2] in index.uncertain:
            memory.setdefault(key, since)
    return findings, memory

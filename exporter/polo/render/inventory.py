"""The inventory metric catalogue (docs/metrics.md describes every family built here).

Every per-resource family carries the same identity labels, so dashboards and alerts can
join or `sum by` any of them without group_left gymnastics.
"""
from __future__ import annotations

import platform
from collections import defaultdict

from polo import __version__
from polo.aws.api_stats import ApiStats
from polo.config import Config, tag_label_name
from polo.render.exposition import Family, label_string
from polo.render.labels import ACCOUNT_LABELS, AccountNames, identity_labels
from polo.model import Resource, Snapshot
from polo.render.service_gauges import service_families
from polo.source import Source


def inventory_families(snapshot: Snapshot, config: Config) -> list[Family]:
    names = AccountNames(config)
    tag_keys = config.tag_labels
    info_names = ("name", "state", "vpc_id", "subnet_id", "parent_id", "resource_class") + tuple(
        tag_label_name(k) for k in tag_keys)

    account_info = Family("polo_account_info", "gauge",
                          "Configured AWS accounts; join on account_id for names and environments.")
    account_up = Family("polo_account_up", "gauge",
                        "1 if Polo could assume the account's role in the last sweep, else 0.")
    for account in config.own_accounts:
        labels = label_string(ACCOUNT_LABELS,
                              (account.id, account.name, account.environment))
        account_info.add(labels, 1)
        if account.id in snapshot.accounts_up:
            account_up.add(labels, 1 if snapshot.accounts_up[account.id] else 0)

    # The allow-list itself: a key no resource carries has no label in Prometheus (an empty
    # value is no label), yet every resource lacks it; dashboards read the keys from here.
    tag_info = Family("polo_resource_tag_label_info", "gauge",
                      "Allow-listed tag keys (tags.labels) and the polo_resource_info label each one becomes.")
    for key in tag_keys:
        tag_info.add(label_string(("tag_key", "label"), (key, tag_label_name(key))), 1)

    # One series per resource (and per tombstone): streamed at render time, never stored, so
    # rendering holds a few thousand lines instead of every sample (docs/benchmarks.md).
    resources = snapshot.resources
    by_type: dict[str, list[Resource]] = defaultdict(list)
    for resource in resources:
        by_type[resource.resource_type].append(resource)

    def each(value_of, resource_type: str | None = None):
        """Samples (identity, value) for resources (of one type) whose value is not None."""
        def samples():
            for resource in resources if resource_type is None else by_type.get(resource_type, ()):
                value = value_of(resource)
                if value is not None:
                    yield identity_labels(resource, names), value
        return samples

    def info_samples():
        for resource in resources:
            info_values = (resource.name, resource.state, resource.vpc_id, resource.subnet_id,
                           resource.parent_id, resource.resource_class) + tuple(
                resource.tags.get(k, "") for k in tag_keys)
            yield identity_labels(resource, names) + "," + label_string(info_names, info_values), 1

    def open_info_samples():
        for resource in by_type.get("security_group", ()):
            rules = resource.details.get("open_ingress", ())
            if rules:
                identity = identity_labels(resource, names)
                for protocol, ports, source in rules:
                    yield identity + "," + label_string(("protocol", "port_range", "source"),
                                                        (protocol, ports, source)), 1

    def deleted_samples():
        for tombstone in snapshot.tombstones:
            yield (identity_labels(tombstone.resource, names) + ","
                   + label_string(("name",), (tombstone.resource.name,)), tombstone.deleted_at)

    info = Family("polo_resource_info", "gauge",
                  "One series per AWS resource Polo found; value is always 1.", stream=info_samples)
    created = Family("polo_resource_created_timestamp_seconds", "gauge",
                     "When AWS says the resource was created (Lambda: last modified).",
                     stream=each(lambda r: r.created))
    size = Family("polo_resource_size_bytes", "gauge",
                  "Provisioned or stored size: EBS volume and snapshot size, RDS allocated storage, "
                  "Lambda code size, DynamoDB table size, OpenSearch EBS storage, SageMaker notebook "
                  "volume, ECR images, log group stored bytes.",
                  stream=each(lambda r: r.size_bytes))
    registered = Family("polo_load_balancer_registered_targets", "gauge",
                        "Targets registered in all target groups of an ELBv2 load balancer.",
                        stream=each(lambda r: r.details.get("registered_targets", 0), "load_balancer"))
    healthy = Family("polo_load_balancer_healthy_targets", "gauge",
                     "Targets reported healthy in all target groups of an ELBv2 load balancer.",
                     stream=each(lambda r: r.details.get("healthy_targets", 0), "load_balancer"))
    open_rules = Family("polo_security_group_open_ingress_rules", "gauge",
                        "Ingress rules of a security group open to 0.0.0.0/0 or ::/0.",
                        stream=each(lambda r: len(r.details.get("open_ingress", ())), "security_group"))
    open_info = Family("polo_security_group_open_ingress_info", "gauge",
                       "One series per world-open ingress rule: protocol, port range and source CIDR.",
                       stream=open_info_samples)
    public_block = Family("polo_s3_bucket_public_access_blocked", "gauge",
                          "1 if all four S3 public access block settings are on for the bucket, else 0.",
                          stream=each(lambda r: 1 if r.details.get("public_access_blocked") else 0, "s3_bucket"))
    nat_bytes = Family("polo_nat_gateway_outbound_7d_bytes", "gauge",
                       "Bytes a NAT gateway sent to destinations over the last 7 days "
                       "(CloudWatch BytesOutToDestination).",
                       stream=each(lambda r: r.details.get("bytes_out_7d"), "nat_gateway"))
    deleted = Family("polo_resource_deleted_timestamp_seconds", "gauge",
                     "Tombstone: when a resource vanished from a successful listing; exported for the prune window.",
                     stream=deleted_samples)

    return [account_info, account_up, tag_info, info, created, size, registered, healthy, open_rules,
            open_info, public_block, nat_bytes, *service_families(by_type, names), deleted]


def self_families(snapshot: Snapshot | None, config: Config, stats: ApiStats) -> list[Family]:
    names = AccountNames(config)
    build = Family("polo_exporter_build_info", "gauge", "Polo's version and Python runtime.")
    build.add(label_string(("version", "python_version"), (__version__, platform.python_version())), 1)
    families = [build]

    up = Family("polo_collector_up", "gauge",
                "1 if the collector's last listing in this account and region succeeded, else 0.")
    duration = Family("polo_collector_duration_seconds", "gauge",
                      "Wall time of the collector's last run in this account and region.")
    last_ok = Family("polo_collector_last_success_timestamp_seconds", "gauge",
                     "End of the sweep in which the collector last succeeded here.")
    count = Family("polo_collector_resources", "gauge",
                   "Resources the collector holds for this account and region (last known state when failing).")
    error = Family("polo_collector_error_info", "gauge",
                   "Why the collector failed in the last sweep (AWS error code or transport failure).")
    sweep_duration = Family("polo_sweep_duration_seconds", "gauge", "Wall time of the last completed sweep.")
    sweep_ok = Family("polo_sweep_last_success_timestamp_seconds", "gauge",
                      "End of the last sweep in which at least one collector succeeded.")
    if snapshot is not None:
        for task, status in sorted(snapshot.tasks.items(),
                                   key=lambda kv: (kv[0].account_id, kv[0].region, kv[0].collector)):
            account, environment = names(task.account_id)
            labels = label_string(("account_id", "account", "environment", "region", "collector"),
                                  (task.account_id, account, environment, task.region, task.collector))
            up.add(labels, 1 if status.ok else 0)
            duration.add(labels, status.duration)
            count.add(labels, status.resources)
            if status.last_success is not None:
                last_ok.add(labels, status.last_success)
            if not status.ok:
                error.add(labels + "," + label_string(("error",), (status.error,)), 1)
        sweep_duration.add("", snapshot.sweep_duration)
        if snapshot.last_success is not None:
            sweep_ok.add("", snapshot.last_success)
    families += [up, duration, last_ok, count, error, sweep_duration, sweep_ok]

    calls, errors = stats.snapshot()
    calls_family = Family("polo_aws_api_calls_total", "counter",
                          "AWS API attempts (each retry counts) by account, service and operation.")
    for (account_id, service, operation), n in sorted(calls.items()):
        calls_family.add(label_string(("account_id", "service", "operation"), (account_id, service, operation)), n)
    errors_family = Family("polo_aws_api_errors_total", "counter",
                           "Failed AWS API attempts by account, service, operation and error code.")
    for (account_id, service, operation, code), n in sorted(errors.items()):
        errors_family.add(label_string(("account_id", "service", "operation", "error_code"),
                                       (account_id, service, operation, code)), n)
    return families + [calls_family, errors_family]


class InventorySource(Source):
    """The inventory families of the snapshot."""

    required = True

    def __init__(self, config: Config):
        self.config = config

    def families(self, snapshot: Snapshot | None) -> list[Family]:
        return [] if snapshot is None else inventory_families(snapshot, self.config)

    def reconfigure(self, config: Config) -> None:
        self.config = config


class SelfSource(Source):
    """Polo's own health: build, collectors, sweeps and AWS API counters."""

    required = True

    def __init__(self, config: Config, stats: ApiStats):
        self.config, self.stats = config, stats

    def families(self, snapshot: Snapshot | None) -> list[Family]:
        return self_families(snapshot, self.config, self.stats)

    def reconfigure(self, config: Config) -> None:
        self.config = config

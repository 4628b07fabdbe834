"""Polo's single YAML configuration file, validated up front.

Every problem becomes a ConfigError naming the file, the key path and what is wrong, so the
CLI can print one line and exit 2 instead of failing half-way through a sweep.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, overload

import yaml

from polo.accounts.sharding import shard_of
from polo.config_yaml import YamlProblem, load_yaml
from polo.collectors import COLLECTORS

DEFAULT_LISTEN_ADDRESS = "0.0.0.0:19881"
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
MAX_DURATION = 365 * 86400.0  # longer ones overflow threading timeouts
SHOWN_CHARS = 60
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
COST_METRICS = ("UnblendedCost", "AmortizedCost", "NetUnblendedCost")
ENVIRONMENTS = ("prod", "dev")


def shown(value: Any) -> str:
    """A value for an error message, cut short: a config's values may be huge."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...(cut)"


class ConfigError(Exception):
    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    environment: str
    role_arn: str
    external_id: str | None = None


@dataclass(frozen=True)
class AwsSettings:
    role_name: str = "PoloReadOnly"
    external_id: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    session_name: str = "polo-exporter"


@dataclass(frozen=True)
class SweepSettings:
    interval: float = 300.0
    workers: int = 64  # I/O-bound threads; per_region_workers bounds each account-region's API rate
    per_region_workers: int = 4
    prune_window: float = 86400.0


@dataclass(frozen=True)
class CostSettings:
    enabled: bool = True
    account: str | None = None
    metric: str = "UnblendedCost"
    restatement_window_days: int = 3
    refresh_interval: float = 6 * 3600.0


PRICE_LIST_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")  # the Price List API's endpoints


@dataclass(frozen=True)
class PricingSettings:
    price_list: bool = True  # ask the AWS Price List API; false: the shipped table only
    region: str = "us-east-1"
    refresh_interval: float = 7 * 86400.0
    account: str | None = None  # whose credentials ask; default the Cost Explorer payer


@dataclass(frozen=True)
class OrganizationsSettings:
    """Account discovery through a read-only role in the management account."""

    role_arn: str
    external_id: str | None = None
    refresh_interval: float = 3600.0
    environment_tag: str | None = None
    environment_ous: tuple[tuple[str, str], ...] = ()  # (OU name, environment), first match wins
    default_environment: str = "dev"


@dataclass(frozen=True)
class ShardSettings:
    index: int = 0
    total: int = 1

    def owns(self, account_id: str) -> bool:
        return self.total == 1 or shard_of(account_id, self.total) == self.index


@dataclass(frozen=True)
class BudgetSettings:
    golden_date: dt.date = dt.date(2025, 6, 21)
    monthly_target_usd: float = 79167.0


@dataclass(frozen=True)
class ActionSettings:
    exempt_tag: str = "polo:keep"
    required_tags: tuple[str, ...] = ()
    volume_unattached_days: float = 1.0
    instance_stopped_days: float = 7.0
    snapshot_age_days: float = 90.0
    load_balancer_idle_days: float = 1.0
    nat_gateway_idle_days: float = 7.0
    sagemaker_endpoint_idle_days: float = 7.0
    eks_cluster_idle_days: float = 7.0
    log_group_min_stored_gib: float = 1.0
    ecr_min_stored_gib: float = 1.0
    notebook_running_days: float = 3.0


@dataclass(frozen=True)
class Config:
    path: str
    accounts: tuple[Account, ...]
    regions: tuple[str, ...]
    collectors: tuple[str, ...]
    tag_labels: tuple[str, ...]
    aws: AwsSettings = field(default_factory=AwsSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)
    costs: CostSettings = field(default_factory=CostSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    actions: ActionSettings = field(default_factory=ActionSettings)
    pricing: PricingSettings = field(default_factory=PricingSettings)
    listen_address: str = DEFAULT_LISTEN_ADDRESS
    state_dir: str = "./polo-state"
    organizations: OrganizationsSettings | None = None
    shard: ShardSettings = field(default_factory=ShardSettings)
    # Accounts that left within the prune window: only their tombstones still name them.
    former_accounts: tuple[Account, ...] = ()

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    @property
    def own_accounts(self) -> tuple[Account, ...]:
        """The accounts this replica sweeps and serves (all of them unless sharded)."""
        return tuple(a for a in self.accounts if self.shard.owns(a.id))


def tag_label_name(tag_key: str) -> str:
    """Prometheus label name for an allow-listed tag key
    (aws:cloudformation:stack-name -> tag_aws_cloudformation_stack_name)."""
    return "tag_" + re.sub(r"[^a-zA-Z0-9_]", "_", tag_key)


def known_regions() -> set[str]:
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return regions


def parse_duration(text: Any) -> float:
    """'5m' -> 300.0; plain numbers are seconds."""
    if isinstance(text, bool):
        raise ValueError
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = DURATION.match(str(text).strip())
        if not match:
            raise ValueError
        seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if not (0 < seconds <= MAX_DURATION):  # also refuses NaN
        raise ValueError
    return seconds


class _Reader:
    """Walks a mapping, remembering the key path and rejecting unknown keys."""

    def __init__(self, file: str, data: Any, path: str = ""):
        self.file, self.path = file, path
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.fail("", f"must be a mapping, got {type(data).__name__}")
        self.data = data

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, problem: str) -> NoReturn:
        raise ConfigError(self.file, self.key(name) if name else (self.path or "(top level)"), problem)

    def reject_unknown(self, allowed: set[str]):
        for name in self.data:
            if name not in allowed:
                self.fail(str(name), f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def section(self, name: str) -> "_Reader":
        return _Reader(self.file, self.data.get(name), self.key(name))

    @overload
    def text(self, name: str, default: str, required: bool = False, secret: bool = False) -> str: ...

    @overload
    def text(self, name: str, default: None = None, *, required: Literal[True], secret: bool = False) -> str: ...

    @overload
    def text(self, name: str, default: None = None, required: bool = False,
             secret: bool = False) -> str | None: ...

    def text(self, name: str, default: str | None = None, required: bool = False,
             secret: bool = False) -> str | None:
        if name not in self.data or self.data[name] is None:
            if required:
                self.fail(name, "is required")
            return default
        value = self.data[name]
        if not isinstance(value, str) or not value.strip():
            got = f"a {type(value).__name__} (not shown: secret)" if secret else shown(value)
            self.fail(name, f"must be a non-empty string, got {got}")
        return value

    def integer(self, name: str, default: int, minimum: int = 1) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(name, f"must be an integer >= {minimum}, got {shown(value)}")
        return value

    def number(self, name: str, default: float, minimum: float = 0.0) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < minimum:
            self.fail(name, f"must be a number >= {minimum}, got {shown(value)}")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, f"must be true or false, got {shown(value)}")
        return value

    def duration(self, name: str, default: float) -> float:
        if name not in self.data:
            return default
        try:
            return parse_duration(self.data[name])
        except ValueError:
            self.fail(name, f"bad duration {shown(self.data[name])} (use e.g. 90s, 5m, 6h, 3d; at most 365d)")

    def str_list(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        if name not in self.data:
            return default
        value = self.data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(name, f"must be a list of strings, got {shown(value)}")
        if len(set(value)) != len(value):
            self.fail(name, "lists an entry twice")
        return tuple(value)


def _account_id(reader: _Reader, name: str) -> str | None:
    value = reader.data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        reader.fail(name, f"must be a quoted 12-digit string, got {shown(value)} "
                          "(YAML reads unquoted numbers as integers and drops leading zeros)")
    if not ACCOUNT_ID.match(value):
        reader.fail(name, f"{shown(value)} is not a 12-digit AWS account id")
    return value


def _accounts(file: str, raw: Any, aws: AwsSettings, discovery: bool) -> tuple[Account, ...]:
    if discovery and raw is None:
        return ()
    if not isinstance(raw, list) or not (raw or discovery):
        raise ConfigError(file, "accounts", "must be a non-empty list of accounts"
                          + ("" if discovery else " (or configure organizations discovery)"))
    accounts: list[Account] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        reader = _Reader(file, item, f"accounts[{index}]")
        reader.reject_unknown({"id", "name", "environment", "role_arn", "external_id"})
        account_id = _account_id(reader, "id")
        if account_id is None:  # missing, or `id: null`
            reader.fail("id", "is required")
        if account_id in seen:
            reader.fail("id", f"duplicate account id {account_id} (also accounts[{seen[account_id]}])")
        seen[account_id] = index
        environment = reader.text("environment", required=True)
        if environment not in ENVIRONMENTS:
            reader.fail("environment", f"must be one of {', '.join(ENVIRONMENTS)}, got {shown(environment)}")
        role_arn = reader.text("role_arn") or f"arn:aws:iam::{account_id}:role/{aws.role_name}"
        if not re.match(r"^arn:aws[\w-]*:iam::[0-9]{12}:role/.+$", role_arn):
            reader.fail("role_arn", f"{shown(role_arn)} is not an IAM role ARN")
        accounts.append(Account(
            id=account_id,
            name=reader.text("name", required=True),
            environment=environment,
            role_arn=role_arn,
            external_id=reader.text("external_id", secret=True) or aws.external_id,
        ))
    return tuple(accounts)


def parse_config(data: Any, file: str) -> Config:
    top = _Reader(file, data)
    top.reject_unknown({"accounts", "regions", "collectors", "tags", "aws", "sweep", "web",
                        "costs", "budget", "actions", "pricing", "state_dir", "organizations", "shard"})

    aws_r = top.section("aws")
    aws_r.reject_unknown({"role_name", "external_id", "endpoint_url", "max_attempts",
                          "connect_timeout", "read_timeout", "session_name"})
    endpoint = aws_r.text("endpoint_url")
    if endpoint and not re.match(r"^https?://[^\s/]+", endpoint):
        aws_r.fail("endpoint_url", f"{shown(endpoint)} is not an http(s) URL")
    aws = AwsSettings(
        role_name=aws_r.text("role_name", "PoloReadOnly"),
        external_id=aws_r.text("external_id", secret=True),
        endpoint_url=endpoint,
        max_attempts=aws_r.integer("max_attempts", 5),
        connect_timeout=aws_r.duration("connect_timeout", 5.0),
        read_timeout=aws_r.duration("read_timeout", 30.0),
        session_name=aws_r.text("session_name", "polo-exporter"),
    )

    organizations = _organizations(top.section("organizations"), aws) if "organizations" in top.data else None
    accounts = _accounts(file, top.data.get("accounts"), aws, organizations is not None)
    shard = _shard(top.section("shard"))

    regions = top.str_list("regions", ("us-east-1",))
    if not regions:
        top.fail("regions", "must list at least one region")
    valid_regions = known_regions()
    for index, region in enumerate(regions):
        if region not in valid_regions:
            top.fail(f"regions[{index}]", f"unknown AWS region {shown(region)}")

    collectors = top.str_list("collectors", tuple(COLLECTORS))
    if not collectors:
        top.fail("collectors", "must list at least one collector (leave it out for all of them)")
    for index, name in enumerate(collectors):
        if name not in COLLECTORS:
            top.fail(f"collectors[{index}]", f"unknown collector {shown(name)} (known: {', '.join(COLLECTORS)})")

    tags_r = top.section("tags")
    tags_r.reject_unknown({"labels", "required"})
    tag_labels = tags_r.str_list("labels", ())
    required_tags = tags_r.str_list("required", ())
    label_owner: dict[str, str] = {}
    for index, key in enumerate(tag_labels):
        label = tag_label_name(key)
        if label in label_owner:
            tags_r.fail(f"labels[{index}]",
                        f"tag {shown(key)} and tag {shown(label_owner[label])} both become label {label}")
        label_owner[label] = key

    sweep_r = top.section("sweep")
    if "per_account_workers" in sweep_r.data:  # a silent alias would multiply it by the regions
        sweep_r.fail("per_account_workers", "renamed to per_region_workers: the cap is now per account and region")
    sweep_r.reject_unknown({"interval", "workers", "per_region_workers", "prune_window"})
    sweep = SweepSettings(
        interval=sweep_r.duration("interval", 300.0),
        workers=sweep_r.integer("workers", SweepSettings.workers),
        per_region_workers=sweep_r.integer("per_region_workers", SweepSettings.per_region_workers),
        prune_window=sweep_r.duration("prune_window", 86400.0),
    )

    web_r = top.section("web")
    web_r.reject_unknown({"listen_address"})
    listen = web_r.text("listen_address", DEFAULT_LISTEN_ADDRESS)
    try:
        split_listen_address(listen)
    except ValueError as err:
        web_r.fail("listen_address", str(err))

    costs_r = top.section("costs")
    costs_r.reject_unknown({"enabled", "account", "metric", "restatement_window", "refresh_interval"})
    cost_metric = costs_r.text("metric", "UnblendedCost")
    if cost_metric not in COST_METRICS:
        costs_r.fail("metric", f"must be one of {', '.join(COST_METRICS)}, got {shown(cost_metric)}")
    cost_account = _account_id(costs_r, "account")
    if cost_account is not None and cost_account not in {a.id for a in accounts}:
        costs_r.fail("account", f"{cost_account} is not one of the configured accounts")
    costs_enabled = costs_r.flag("enabled", True)
    if costs_enabled and not accounts:
        costs_r.fail("enabled", "Cost Explorer needs its payer account in the static accounts list "
                                "(or costs.enabled: false)")
    restatement = costs_r.duration("restatement_window", 3 * 86400.0)
    if restatement % 86400:
        costs_r.fail("restatement_window", "must be a whole number of days, e.g. 3d")
    costs = CostSettings(
        enabled=costs_enabled,
        account=cost_account or (accounts[0].id if accounts else None),
        metric=cost_metric,
        restatement_window_days=int(restatement // 86400),
        refresh_interval=costs_r.duration("refresh_interval", 6 * 3600.0),
    )

    pricing_r = top.section("pricing")
    pricing_r.reject_unknown({"price_list", "region", "refresh_interval", "account"})
    price_list_region = pricing_r.text("region", "us-east-1")
    if price_list_region not in PRICE_LIST_REGIONS:
        pricing_r.fail("region", f"must be one of {', '.join(PRICE_LIST_REGIONS)} (the Price List API's "
                                 f"endpoints), got {shown(price_list_region)}")
    pricing_account = _account_id(pricing_r, "account")
    if pricing_account is not None and pricing_account not in {a.id for a in accounts}:
        pricing_r.fail("account", f"{pricing_account} is not one of the configured accounts")
    price_refresh = pricing_r.duration("refresh_interval", 7 * 86400.0)
    if price_refresh < 3600:
        pricing_r.fail("refresh_interval", "must be at least 1h (AWS updates list prices about monthly)")
    pricing = PricingSettings(price_list=pricing_r.flag("price_list", True), region=price_list_region,
                              refresh_interval=price_refresh, account=pricing_account)

    budget_r = top.section("budget")
    budget_r.reject_unknown({"golden_date", "monthly_target_usd"})
    golden = budget_r.data.get("golden_date", dt.date(2025, 6, 21))
    if isinstance(golden, str):
        try:
            golden = dt.date.fromisoformat(golden)
        except ValueError:
            pass
    if not isinstance(golden, dt.date) or isinstance(golden, dt.datetime):
        budget_r.fail("golden_date", f"must be a date like 2025-06-21, got {shown(golden)}")
    budget = BudgetSettings(golden_date=golden,
                            monthly_target_usd=budget_r.number("monthly_target_usd", 79167.0))

    actions_r = top.section("actions")
    actions_r.reject_unknown({"exempt_tag", "volume_unattached_days",
                              "instance_stopped_days", "snapshot_age_days",
                              "load_balancer_idle_days", "nat_gateway_idle_days",
                              "sagemaker_endpoint_idle_days", "eks_cluster_idle_days",
                              "log_group_min_stored_gib", "ecr_min_stored_gib", "notebook_running_days"})
    actions = ActionSettings(
        exempt_tag=actions_r.text("exempt_tag", "polo:keep"),
        required_tags=required_tags,
        volume_unattached_days=actions_r.number("volume_unattached_days", 1.0),
        instance_stopped_days=actions_r.number("instance_stopped_days", 7.0),
        snapshot_age_days=actions_r.number("snapshot_age_days", 90.0),
        load_balancer_idle_days=actions_r.number("load_balancer_idle_days", 1.0),
        nat_gateway_idle_days=actions_r.number("nat_gateway_idle_days", 7.0),
        sagemaker_endpoint_idle_days=actions_r.number("sagemaker_endpoint_idle_days", 7.0),
        eks_cluster_idle_days=actions_r.number("eks_cluster_idle_days", 7.0),
        log_group_min_stored_gib=actions_r.number("log_group_min_stored_gib", 1.0),
        ecr_min_stored_gib=actions_r.number("ecr_min_stored_gib", 1.0),
        notebook_running_days=actions_r.number("notebook_running_days", 3.0),
    )

    return Config(
        path=file, accounts=accounts, regions=regions, collectors=collectors,
        tag_labels=tag_labels, aws=aws, sweep=sweep, costs=costs, budget=budget,
        actions=actions, pricing=pricing, listen_address=listen,
        state_dir=top.text("state_dir", "./polo-state"),
        organizations=organizations, shard=shard,
    )


def _organizations(reader: _Reader, aws: AwsSettings) -> OrganizationsSettings:
    reader.reject_unknown({"role_arn", "external_id", "refresh_interval", "environment"})
    role_arn = reader.text("role_arn", required=True)
    if not re.match(r"^arn:aws[\w-]*:iam::[0-9]{12}:role/.+$", role_arn):
        reader.fail("role_arn", f"{shown(role_arn)} is not an IAM role ARN")
    env_r = reader.section("environment")
    env_r.reject_unknown({"tag", "ous", "default"})
    ous_r = env_r.section("ous")
    for name, environment in ous_r.data.items():
        if environment not in ENVIRONMENTS:
            ous_r.fail(str(name), f"must be one of {', '.join(ENVIRONMENTS)}, got {shown(environment)}")
    default = env_r.text("default", "dev")
    if default not in ENVIRONMENTS:
        env_r.fail("default", f"must be one of {', '.join(ENVIRONMENTS)}, got {shown(default)}")
    return OrganizationsSettings(
        role_arn=role_arn,
        external_id=reader.text("external_id", secret=True) or aws.external_id,
        refresh_interval=reader.duration("refresh_interval", 3600.0),
        environment_tag=env_r.text("tag"),
        environment_ous=tuple((str(name), env) for name, env in ous_r.data.items()),
        default_environment=default,
    )


def _shard(reader: _Reader) -> ShardSettings:
    reader.reject_unknown({"index", "total"})
    total = reader.integer("total", 1)
    index = reader.integer("index", 0, minimum=0)
    if index >= total:
        reader.fail("index", f"must be below shard.total ({total}), got {index}")
    return ShardSettings(index=index, total=total)


def split_listen_address(address: str) -> tuple[str, int]:
    """'HOST:PORT' or ':PORT' -> (host, port); host defaults to all interfaces."""
    host, sep, port = address.rpartition(":")
    if not sep or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise ValueError(f"{shown(address)} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def load_config(path: str | Path) -> Config:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(file, "", f"cannot read: {err}") from None
    try:
        data = load_yaml(text)
    except YamlProblem as err:
        raise ConfigError(file, err.key, err.problem) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(file, "", f"YAML syntax error at {where}{problem}") from None
    return parse_config(data, file)

"""Polo's single YAML configuration file, validated up front.

Every problem becomes a ConfigError naming the file, the key path and what is wrong, so the
CLI can print one line and exit 2 instead of failing half-way through a sweep. Each key is
declared once, on the settings field it fills (`setting`): its YAML name, default, check and
the line the README's table shows; `read_settings` reads a section from those declarations and
`parse_config` adds only the checks that relate keys to each other.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Literal, NoReturn, overload

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
BILLING_FORMATS = ("focus", "cur2")  # AWS Data Exports' FOCUS 1.0 (with AWS columns) and CUR 2.0
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::[0-9]{12}:role/.+$")


def shown(value: Any) -> str:
    """A value for an error message, cut short: a config's values may be huge."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...(cut)"


class ConfigError(Exception):
    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


Read = Callable[["_Reader", str, Any], Any]  # (section, key name, default) -> checked value


@dataclass(frozen=True)
class Key:
    """One config key, declared once on the settings field it fills: how it is read and checked
    (`read`), its documentation, its YAML name when not the field's (dotted for a subsection),
    and its default as the README shows it when the value alone would not say it."""

    doc: str
    read: Read
    name: str = ""
    shown: str = ""


def setting(default: Any, doc: str, read: Read, name: str = "", shown: str = "") -> Any:
    """A settings field that is a config key; `REQUIRED` for no default."""
    key = {"key": Key(doc, read, name, shown)}
    return field(metadata=key) if default is REQUIRED else field(default=default, metadata=key)


REQUIRED = object()


# --- how keys are read: each returns the checked value or fails naming the key -------------

def text(r: "_Reader", name: str, default: Any) -> Any:
    return r.text(name, default)


def required_text(r: "_Reader", name: str, _default: Any) -> str:
    return r.text(name, required=True)


def text_or_empty(r: "_Reader", name: str, default: Any) -> Any:
    value = r.data.get(name, default)
    if value is not None and not isinstance(value, str):
        r.fail(name, f"must be a string, got {shown(value)}")
    return value


def secret(r: "_Reader", name: str, default: Any) -> Any:
    return r.text(name, default, secret=True)


def integer(minimum: int = 1) -> Read:
    return lambda r, name, default: r.integer(name, default, minimum)


def number(r: "_Reader", name: str, default: Any) -> float:
    return r.number(name, default)


def flag(r: "_Reader", name: str, default: Any) -> bool:
    return r.flag(name, default)


def duration(r: "_Reader", name: str, default: Any) -> float:
    return r.duration(name, default)


def duration_at_least(minimum: float, why: str) -> Read:
    def read(r: "_Reader", name: str, default: Any) -> float:
        value = r.duration(name, default)
        if value < minimum:
            r.fail(name, why)
        return value
    return read


def whole_days(r: "_Reader", name: str, default: Any) -> int:
    """A duration in whole days, kept as the number of days."""
    value = r.duration(name, default * 86400.0)
    if value % 86400:
        r.fail(name, "must be a whole number of days, e.g. 3d")
    return int(value // 86400)


def one_of(choices: tuple[str, ...], required: bool = False, why: str = "") -> Read:
    def read(r: "_Reader", name: str, default: Any) -> str:
        value = r.text(name, required=True) if required else r.text(name, default)
        if value not in choices:
            r.fail(name, f"must be one of {', '.join(choices)}{why}, got {shown(value)}")
        return value
    return read


def strings(r: "_Reader", name: str, default: Any) -> tuple[str, ...]:
    return r.str_list(name, default)


def account_id(r: "_Reader", name: str, _default: Any) -> str | None:
    value = r.data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        r.fail(name, f"must be a quoted 12-digit string, got {shown(value)} "
                     "(YAML reads unquoted numbers as integers and drops leading zeros)")
    if not ACCOUNT_ID.match(value):
        r.fail(name, f"{shown(value)} is not a 12-digit AWS account id")
    return value


def required_account_id(r: "_Reader", name: str, default: Any) -> str:
    value = account_id(r, name, default)
    if value is None:  # missing, or `id: null`
        r.fail(name, "is required")
    return value


def role_arn(r: "_Reader", name: str, default: Any) -> Any:
    value = r.text(name, default)
    if value and not ROLE_ARN.match(value):
        r.fail(name, f"{shown(value)} is not an IAM role ARN")
    return value


def required_role_arn(r: "_Reader", name: str, _default: Any) -> str:
    r.text(name, required=True)
    return role_arn(r, name, None)


def bucket(r: "_Reader", name: str, _default: Any) -> str:
    value = r.text(name, required=True)
    if not BUCKET.match(value):
        r.fail(name, f"{shown(value)} is not an S3 bucket name")
    return value


def http_url(r: "_Reader", name: str, default: Any) -> Any:
    value = r.text(name, default)
    if value and not re.match(r"^https?://[^\s/]+", value):
        r.fail(name, f"{shown(value)} is not an http(s) URL")
    return value


def date(r: "_Reader", name: str, default: Any) -> dt.date:
    value = r.data.get(name, default)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        r.fail(name, f"must be a date like 2025-06-21, got {shown(value)}")
    return value


def regions(r: "_Reader", name: str, default: Any) -> tuple[str, ...]:
    value = r.str_list(name, default)
    if not value:
        r.fail(name, "must list at least one region")
    valid = known_regions()
    for index, region in enumerate(value):
        if region not in valid:
            r.fail(f"{name}[{index}]", f"unknown AWS region {shown(region)}")
    return value


def collectors(r: "_Reader", name: str, default: Any) -> tuple[str, ...]:
    value = r.str_list(name, default)
    if not value:
        r.fail(name, "must list at least one collector (leave it out for all of them)")
    for index, collector in enumerate(value):
        if collector not in COLLECTORS:
            r.fail(f"{name}[{index}]", f"unknown collector {shown(collector)} (known: {', '.join(COLLECTORS)})")
    return value


def tag_labels(r: "_Reader", name: str, default: Any) -> tuple[str, ...]:
    value = r.str_list(name, default)
    owner: dict[str, str] = {}
    for index, key in enumerate(value):
        label = tag_label_name(key)
        if label in owner:
            r.fail(f"{name}[{index}]", f"tag {shown(key)} and tag {shown(owner[label])} both become label {label}")
        owner[label] = key
    return value


def listen_address(r: "_Reader", name: str, default: Any) -> str:
    value = r.text(name, default)
    try:
        split_listen_address(value)
    except ValueError as err:
        r.fail(name, str(err))
    return value


def golden_baseline(r: "_Reader", name: str, default: Any) -> tuple[tuple[str, float], ...]:
    figures = r.section(name)
    for account, usd in figures.data.items():
        if not isinstance(account, str) or not ACCOUNT_ID.match(account):
            figures.fail(str(account), "must be a quoted 12-digit account id")
        if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not math.isfinite(usd) or usd < 0:
            figures.fail(account, f"must be a cost in USD >= 0, got {shown(usd)}")
    return tuple((account, float(usd)) for account, usd in figures.data.items()) or default


def optional_environment(r: "_Reader", name: str, default: Any) -> str | None:
    value = r.text(name, default)
    if value is not None and value not in ENVIRONMENTS:
        r.fail(name, f"must be one of {', '.join(ENVIRONMENTS)}, got {shown(value)}")
    return value


def required_number(r: "_Reader", name: str, _default: Any) -> float:
    if name not in r.data:
        r.fail(name, "is required")
    return r.number(name, 0.0)


def budget_name(r: "_Reader", name: str, _default: Any) -> str:
    value = r.text(name, required=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,62}", value):
        r.fail(name, f"{shown(value)}: use letters, digits, spaces and _ . : / - (at most 63 characters)")
    return value


def environment_ous(r: "_Reader", name: str, default: Any) -> tuple[tuple[str, str], ...]:
    ous = r.section(name)
    for ou, environment in ous.data.items():
        if environment not in ENVIRONMENTS:
            ous.fail(str(ou), f"must be one of {', '.join(ENVIRONMENTS)}, got {shown(environment)}")
    return tuple((str(ou), environment) for ou, environment in ous.data.items()) or default


# --- the settings: every key once ------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    id: str = setting(REQUIRED, "quoted 12-digit string", required_account_id, shown="required")
    name: str = setting(REQUIRED, "shown in the `account` label", required_text, shown="required")
    environment: str = setting(REQUIRED, "`prod` or `dev`", one_of(ENVIRONMENTS, required=True), shown="required")
    role_arn: str = setting("", "role assumed in the account", role_arn,
                            shown="`arn:aws:iam::<id>:role/<aws.role_name>`")
    external_id: str | None = setting(None, "external id for that role (never logged or shown)", secret,
                                      shown="`aws.external_id`")


@dataclass(frozen=True)
class AwsSettings:
    role_name: str = setting("PoloReadOnly", "role assumed in each account: `arn:aws:iam::<id>:role/<role_name>`",
                             text)
    external_id: str | None = setting(None, "default external id for AssumeRole (never logged or shown)", secret)
    endpoint_url: str | None = setting(None, "point every AWS client at LocalStack or a moto server", http_url)
    max_attempts: int = setting(5, "total attempts per API call (botocore adaptive retry mode)", integer())
    connect_timeout: float = setting(5.0, "per-request connect timeout", duration)
    read_timeout: float = setting(30.0, "per-request read timeout", duration)
    session_name: str = setting("polo-exporter", "RoleSessionName, so CloudTrail shows Polo's calls", text)


@dataclass(frozen=True)
class SweepSettings:
    interval: float = setting(300.0, "time between sweep starts", duration)
    workers: int = setting(64, "worker pool for all (account, region, collector) tasks (I/O-bound threads)",
                           integer())
    per_region_workers: int = setting(
        4, "pool slots one account-region may hold (AWS rate-limits per account and region; global services "
           "count as one region), so a throttled region cannot starve the rest (inside a task, S3, ECR and EKS "
           "ask about up to 4 buckets, repositories or clusters at once); the former `per_account_workers` is "
           "refused with a pointer here", integer())
    prune_window: float = setting(86400.0, "how long a vanished resource is exported as a tombstone", duration)
    kept_client_regions: int = setting(
        32, "account-regions whose AWS clients are kept between sweeps; in a larger estate each "
            "account-region's clients are made for its turn in the sweep and dropped after it, so memory follows "
            "`workers`, not the estate ([docs/scaling.md](docs/scaling.md))", integer(0))


@dataclass(frozen=True)
class CostSettings:
    enabled: bool = setting(True, "read Cost Explorer ([docs/costs.md](docs/costs.md)); needs a static account",
                            flag)
    account: str | None = setting(None, "the payer whose Cost Explorer is read (one of `accounts`)", account_id,
                                  shown="the first account")
    metric: str = setting("UnblendedCost", "Cost Explorer metric", one_of(COST_METRICS))
    restatement_window_days: int = setting(3, "how long after a day its costs are fetched again (AWS restates "
                                              "them); whole days", whole_days, name="restatement_window", shown="`3d`")
    refresh_interval: float = setting(6 * 3600.0, "time between Cost Explorer refreshes", duration)


PRICE_LIST_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")  # the Price List API's endpoints


@dataclass(frozen=True)
class PricingSettings:
    price_list: bool = setting(
        True, "read list prices for every region from the AWS Price List API (`pricing:GetProducts`), cached in "
              "`state_dir`; `false`: the shipped table only ([how](docs/metrics.md#per-resource-cost-estimates))",
        flag)
    region: str = setting("us-east-1", "the Price List API endpoint (prices are the same)",
                          one_of(PRICE_LIST_REGIONS, why=" (the Price List API's endpoints)"))
    refresh_interval: float = setting(
        7 * 86400.0, "how old a cached price may get before it is asked again (at least `1h`)",
        duration_at_least(3600, "must be at least 1h (AWS updates list prices about monthly)"), shown="`7d`")
    account: str | None = setting(None, "whose `PoloReadOnly` role asks the Price List API", account_id,
                                  shown="`costs.account`")


@dataclass(frozen=True)
class OrganizationsSettings:
    """Account discovery through a read-only role in the management account."""

    role_arn: str = setting(
        REQUIRED, "role in the management account to list the organisation's accounts with "
                  "([discovery](#aws-organizations-discovery)); with it, `accounts` may be empty",
        required_role_arn, shown="none (no discovery)")
    external_id: str | None = setting(None, "external id for that role", secret, shown="`aws.external_id`")
    refresh_interval: float = setting(3600.0, "how often the account list is re-read (at the start of a sweep)",
                                      duration)
    environment_tag: str | None = setting(
        None, "account tag whose value (`prod` or `dev`) sets a discovered account's environment", text,
        name="environment.tag")
    # (OU name, environment), first match wins
    environment_ous: tuple[tuple[str, str], ...] = setting(
        (), "OU name → environment; the nearest enclosing OU with a listed name wins", environment_ous,
        name="environment.ous", shown="`{}`")
    default_environment: str = setting("dev", "environment when neither tag nor OU decides",
                                       one_of(ENVIRONMENTS), name="environment.default")


@dataclass(frozen=True)
class ShardSettings:
    index: int = setting(0, "this replica's share of the accounts ([docs/scaling.md](docs/scaling.md))",
                         integer(minimum=0))
    total: int = setting(1, "how many replicas share the accounts", integer())

    def owns(self, account_id: str) -> bool:
        return self.total == 1 or shard_of(account_id, self.total) == self.index


@dataclass(frozen=True)
class BudgetSettings:
    golden_date: dt.date = setting(dt.date(2025, 6, 21), "the baseline day costs are compared with", date)
    monthly_target_usd: float = setting(79167.0, "the organisation's monthly cost target (the `organisation` "
                                                 "budget when `budgets` are set)", number)
    golden_baseline: tuple[tuple[str, float], ...] = setting(
        (), "the golden date's cost per account, `{\"<account id>\": usd}`: the baseline when neither the billing "
            "export nor Cost Explorer reaches that day", golden_baseline, name="golden_baseline_usd", shown="`{}`")
    golden_history_csv: str = setting(
        "", "v1's daily cost history, CSV `date,account_id,service,cost`: its golden-date rows are the baseline "
            "when nothing else reaches that day", text, shown="none")
    golden_history: tuple[tuple[str, float], ...] = ()  # the CSV's golden-date cost per account


@dataclass(frozen=True)
class TeamBudget:
    """A monthly budget for the spend a selector picks out of the billing export."""

    name: str = setting(REQUIRED, "the `budget` label", budget_name, shown="required")
    monthly_target_usd: float = setting(REQUIRED, "monthly target", required_number, shown="required")
    accounts: tuple[str, ...] = setting((), "account ids or names it covers (none: every account)", strings)
    environment: str | None = setting(None, "`prod` or `dev` only", optional_environment)
    tag_key: str | None = setting(None, "a `tags.labels` key whose value selects the spend", text, name="tag.key")
    tag_value: str | None = setting(None, "that tag's value (`\"\"`: the untagged spend)", text_or_empty,
                                    name="tag.value")
    cost_category: str | None = setting(None, "a `billing_export.cost_categories` name", text,
                                        name="cost_category.name")
    cost_category_value: str | None = setting(None, "its value", text_or_empty, name="cost_category.value")


@dataclass(frozen=True)
class BillingExportSettings:
    """The AWS Data Exports billing export Polo reads ([docs/costs.md](docs/costs.md#billing-export))."""

    bucket: str = setting(REQUIRED, "S3 bucket the export is delivered to "
                                    "([docs/costs.md](docs/costs.md#billing-export))", bucket,
                          shown="none (no billing export)")
    name: str = setting(REQUIRED, "the export's name (the folder under the prefix)", required_text, shown="required")
    prefix: str = setting("", "the export's S3 path prefix", text, shown="none")
    format: str = setting("focus", "`focus` (FOCUS 1.0 with AWS columns) or `cur2` (CUR 2.0)", one_of(BILLING_FORMATS))
    region: str = setting("us-east-1", "the bucket's region", text)
    account: str | None = setting(None, "the account whose role reads the bucket (one of `accounts`)", account_id,
                                  shown="`costs.account`")
    role_arn: str = setting("", "a role to read the bucket with instead of that account's", role_arn,
                            shown="the account's role")
    cost_categories: tuple[str, ...] = setting(
        (), "AWS cost categories to allocate spend by, beside the `tags.labels` keys", strings)
    refresh_interval: float = setting(
        3 * 3600.0, "time between looks at the export's manifests (AWS rewrites them up to three times a day)",
        duration_at_least(300, "must be at least 5m"), shown="`3h`")


@dataclass(frozen=True)
class ActionSettings:
    exempt_tag: str = setting("polo:keep", "resources carrying this tag are never cleanup findings "
                                                   "([docs/metrics.md](docs/metrics.md#cleanup-actions))", text)
    required_tags: tuple[str, ...] = ()  # tags.required, for the missing_tags rule
    volume_unattached_days: float = setting(1.0, "days a volume stays unattached before it is a finding", number)
    instance_stopped_days: float = setting(7.0, "days an instance stays stopped", number)
    snapshot_age_days: float = setting(90.0, "minimum age of a snapshot whose volume is gone and no AMI uses", number)
    load_balancer_idle_days: float = setting(1.0, "days a load balancer has no (healthy) target", number)
    nat_gateway_idle_days: float = setting(7.0, "minimum age of a NAT gateway with no traffic in 7 days", number)
    sagemaker_endpoint_idle_days: float = setting(
        7.0, "minimum age of a SageMaker endpoint with no invocation in 7 days", number)
    eks_cluster_idle_days: float = setting(7.0, "days an EKS cluster has no node group, Fargate profile or node",
                                                   number)
    log_group_min_stored_gib: float = setting(1.0, "stored GiB a never-expiring log group needs to be a finding",
                                              number)
    ecr_min_stored_gib: float = setting(1.0, "stored GiB an ECR repository without lifecycle policy needs to be a "
                                                "finding", number)
    notebook_running_days: float = setting(3.0, "days a SageMaker notebook stays in service", number)


@dataclass(frozen=True)
class Config:
    path: str
    accounts: tuple[Account, ...]
    regions: tuple[str, ...] = setting(
        ("us-east-1",), "regions swept by regional collectors; the first is also the home region for STS and "
                        "global services", regions)
    collectors: tuple[str, ...] = setting(tuple(COLLECTORS), "any of " + ", ".join(f"`{c}`" for c in COLLECTORS),
                                          collectors, shown="all")
    tag_labels: tuple[str, ...] = setting(
        (), "allow-list of tag keys exported as `tag_<key>` labels on `polo_resource_info` (non-alphanumerics "
            "become `_`)", tag_labels, name="tags.labels")
    required_tags: tuple[str, ...] = setting(
        (), "tags every resource must carry; missing ones are reported as `missing_tags` actions", strings,
        name="tags.required")
    listen_address: str = setting(DEFAULT_LISTEN_ADDRESS, "`HOST:PORT`; `--web.listen-address` overrides it",
                                  listen_address, name="web.listen_address")
    state_dir: str = setting("./polo-state", "cost cache, Price List cache and first-seen times; survives restarts",
                             text)
    aws: AwsSettings = field(default_factory=AwsSettings)
    sweep: SweepSettings = field(default_factory=SweepSettings)
    costs: CostSettings = field(default_factory=CostSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    actions: ActionSettings = field(default_factory=ActionSettings)
    pricing: PricingSettings = field(default_factory=PricingSettings)
    organizations: OrganizationsSettings | None = None
    billing_export: BillingExportSettings | None = None
    budgets: tuple[TeamBudget, ...] = ()
    shard: ShardSettings = field(default_factory=ShardSettings)
    # Accounts that left within the prune window: only their tombstones still name them.
    former_accounts: tuple[Account, ...] = ()

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    @property
    def own_accounts(self) -> tuple[Account, ...]:
        """The accounts this replica sweeps and serves (all of them unless sharded)."""
        return tuple(a for a in self.accounts if self.shard.owns(a.id))


# The top level's subsections, each read into its own settings.
SUBSECTIONS = ("accounts", "aws", "sweep", "organizations", "shard", "costs", "budget", "actions", "pricing",
               "billing_export", "budgets")
# Every section of the file, in the README's order: (YAML prefix, the settings it fills).
SECTIONS: tuple[tuple[str, type], ...] = (
    ("", Config), ("accounts[].", Account), ("aws.", AwsSettings), ("sweep.", SweepSettings),
    ("organizations.", OrganizationsSettings), ("shard.", ShardSettings), ("costs.", CostSettings),
    ("budget.", BudgetSettings), ("actions.", ActionSettings), ("pricing.", PricingSettings),
    ("billing_export.", BillingExportSettings), ("budgets[].", TeamBudget),
)


def declared(cls: type) -> list[tuple[str, str, Key]]:
    """(field, YAML name, key) of each field of `cls` that is a config key."""
    return [(f.name, f.metadata["key"].name or f.name, f.metadata["key"])
            for f in fields(cls) if "key" in f.metadata]


def markdown_table() -> str:
    """The README's configuration table, from the declarations (tests/unit/test_config.py
    keeps the README equal to it)."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for prefix, cls in SECTIONS:
        defaults = {f.name: f.default for f in fields(cls)}
        for field_name, yaml_name, key in declared(cls):
            default = key.shown or shown_default(defaults[field_name], key.read is duration)
            rows.append(f"| `{prefix}{yaml_name}` | {default} | {key.doc} |")
    return "\n".join(rows) + "\n"


def shown_default(value: Any, is_duration: bool) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`[{', '.join(value)}]`"
    if is_duration:
        unit = next(u for u in ("d", "h", "m", "s") if value % DURATION_UNITS[u] == 0)
        return f"`{value / DURATION_UNITS[unit]:g}{unit}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    return f"`{value}`"


def tag_label_name(tag_key: str) -> str:
    """Prometheus label name for an allow-listed tag key
    (aws:cloudformation:stack-name -> tag_aws_cloudformation_stack_name)."""
    return "tag_" + re.sub(r"[^a-zA-Z0-9_]", "_", tag_key)


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every AWS partition, from botocore's partitions file (its pseudo-regions
    such as aws-global left out by the partition's own pattern). The endpoints file lists the
    same regions, but reading that much larger file was a noticeable part of every start."""
    from botocore.loaders import Loader

    return frozenset(region for partition in Loader().load_data("partitions")["partitions"]
                     for region in partition["regions"] if re.match(partition["regionRegex"], region))


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


def read_settings(reader: _Reader, cls: type, sections: tuple[str, ...] = (), **given: Any) -> Any:
    """`cls` built from its declared keys in `reader`'s section (unknown keys refused, a dotted
    name read from its subsection), plus the `given` fields that are not keys; `sections` are
    subsections read on their own."""
    names = [(field_name, yaml_name.split("."), key) for field_name, yaml_name, key in declared(cls)
             if field_name not in given]
    reader.reject_unknown({parts[0] for _field, parts, _key in names} | set(sections))
    for prefix in {parts[0] for _field, parts, _key in names if len(parts) > 1}:
        reader.section(prefix).reject_unknown({parts[1] for _field, parts, _key in names if parts[0] == prefix})
    defaults = {f.name: f.default for f in fields(cls)}
    values = {}
    for field_name, parts, key in names:
        section = reader.section(parts[0]) if len(parts) > 1 else reader
        values[field_name] = key.read(section, parts[-1], defaults[field_name])
    return cls(**values, **given)


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
        account = read_settings(reader, Account)
        if account.id in seen:
            reader.fail("id", f"duplicate account id {account.id} (also accounts[{seen[account.id]}])")
        seen[account.id] = index
        accounts.append(replace(account, role_arn=account.role_arn or f"arn:aws:iam::{account.id}:role/{aws.role_name}",
                                external_id=account.external_id or aws.external_id))
    return tuple(accounts)


def _budget(file: str, reader: _Reader) -> BudgetSettings:
    settings = read_settings(reader, BudgetSettings, golden_history=())
    if not settings.golden_history_csv:
        return settings
    return replace(settings, golden_history=read_golden_history(file, reader, settings))


def read_golden_history(file: str, reader: _Reader, settings: BudgetSettings) -> tuple[tuple[str, float], ...]:
    """The golden date's cost per account in v1's CSV history (date,account_id,service,cost)."""
    import csv

    path = Path(settings.golden_history_csv)
    if not path.is_absolute():
        path = Path(file).parent / path
    sums: dict[str, float] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle), start=1):
                if number == 1 and row and row[0].strip().lower() == "date":
                    continue
                try:
                    day, account, _service, cost = (cell.strip() for cell in row)
                    usd = float(cost)
                    if dt.date.fromisoformat(day) == settings.golden_date:
                        if not ACCOUNT_ID.match(account) or not math.isfinite(usd):
                            raise ValueError
                        sums[account] = sums.get(account, 0.0) + usd
                except ValueError:
                    reader.fail("golden_history_csv", f"{path}: line {number} is not date,account_id,service,cost")
    except OSError as err:
        reader.fail("golden_history_csv", f"cannot read {path}: {err.strerror}")
    if not sums:
        reader.fail("golden_history_csv", f"{path} has no row for the golden date {settings.golden_date}")
    return tuple(sorted(sums.items()))


def _budgets(file: str, raw: Any, config: Config) -> tuple[TeamBudget, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(file, "budgets", "must be a list of budgets")
    billing = config.billing_export
    if billing is None and raw:
        raise ConfigError(file, "budgets", "per-team budgets are read from the billing export: "
                                           "configure billing_export")
    known = {a.id for a in config.accounts} | {a.name for a in config.accounts}
    budgets: list[TeamBudget] = []
    for index, item in enumerate(raw):
        reader = _Reader(file, item, f"budgets[{index}]")
        budget = read_settings(reader, TeamBudget)
        if budget.name in {b.name for b in budgets} or budget.name == "organisation":
            reader.fail("name", f"{budget.name!r} is taken (organisation is budget.monthly_target_usd)")
        for position, account in enumerate(budget.accounts):
            if account not in known:
                reader.fail(f"accounts[{position}]", f"{shown(account)} is not a configured account id or name")
        if (budget.tag_key is None) != (budget.tag_value is None):
            reader.fail("tag", "needs both key and value")
        if budget.tag_key is not None and budget.tag_key not in config.tag_labels:
            reader.fail("tag.key", f"{shown(budget.tag_key)} is not in tags.labels (only those keys are aggregated)")
        if (budget.cost_category is None) != (budget.cost_category_value is None):
            reader.fail("cost_category", "needs both name and value")
        if budget.cost_category is not None and billing is not None and \
                budget.cost_category not in billing.cost_categories:
            reader.fail("cost_category.name", f"{shown(budget.cost_category)} is not in "
                                              "billing_export.cost_categories")
        budgets.append(budget)
    return tuple(budgets)


def parse_config(data: Any, file: str) -> Config:
    top = _Reader(file, data)
    top.reject_unknown(set(SUBSECTIONS) | {yaml_name.split(".")[0] for _field, yaml_name, _key in declared(Config)})
    aws = read_settings(top.section("aws"), AwsSettings)
    organizations = None
    if "organizations" in top.data:
        organizations = read_settings(top.section("organizations"), OrganizationsSettings)
        organizations = replace(organizations, external_id=organizations.external_id or aws.external_id)
    accounts = _accounts(file, top.data.get("accounts"), aws, organizations is not None)
    shard = read_settings(top.section("shard"), ShardSettings)
    if shard.index >= shard.total:
        top.section("shard").fail("index", f"must be below shard.total ({shard.total}), got {shard.index}")

    sweep_r = top.section("sweep")
    if "per_account_workers" in sweep_r.data:  # a silent alias would multiply it by the regions
        sweep_r.fail("per_account_workers", "renamed to per_region_workers: the cap is now per account and region")

    costs_r = top.section("costs")
    costs = read_settings(costs_r, CostSettings)
    if costs.account is not None and costs.account not in {a.id for a in accounts}:
        costs_r.fail("account", f"{costs.account} is not one of the configured accounts")
    if costs.enabled and not accounts:
        costs_r.fail("enabled", "Cost Explorer needs its payer account in the static accounts list "
                                "(or costs.enabled: false)")
    costs = replace(costs, account=costs.account or (accounts[0].id if accounts else None))

    pricing_r = top.section("pricing")
    pricing = read_settings(pricing_r, PricingSettings)
    if pricing.account is not None and pricing.account not in {a.id for a in accounts}:
        pricing_r.fail("account", f"{pricing.account} is not one of the configured accounts")

    billing_export = None
    if "billing_export" in top.data:
        billing_r = top.section("billing_export")
        billing_export = read_settings(billing_r, BillingExportSettings)
        if billing_export.account is not None and billing_export.account not in {a.id for a in accounts}:
            billing_r.fail("account", f"{billing_export.account} is not one of the configured accounts")
        if billing_export.account is None and costs.account is None:
            billing_r.fail("account", "is required when no static account can read the bucket")
        billing_export = replace(billing_export, account=billing_export.account or costs.account)

    config = read_settings(top, Config, SUBSECTIONS, path=file, accounts=accounts, aws=aws, organizations=organizations,
                           billing_export=billing_export, shard=shard, sweep=read_settings(sweep_r, SweepSettings),
                           costs=costs, pricing=pricing,
                           budget=_budget(file, top.section("budget")),
                           actions=read_settings(top.section("actions"), ActionSettings, required_tags=()))
    return replace(config, actions=replace(config.actions, required_tags=config.required_tags),
                   budgets=_budgets(file, top.data.get("budgets"), config))


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

"""Accounts from AWS Organizations, merged with the static list.

Discovery reads the organisation through a read-only role in the management account:
ListAccounts (every page), and for accounts the static list does not name, the environment
from an account tag (ListTagsForResource) or from the OU the account sits in (ListParents up
to the root, DescribeOrganizationalUnit for the names). A refresh is all-or-nothing: on any
error the last known list stays and polo_organizations_discovery_up drops to 0.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from polo.aws.access import AwsAccess
from polo.errors import error_code
from polo.config import ENVIRONMENTS, Account, AwsSettings, OrganizationsSettings
from polo.render.exposition import Family, label_string

log = logging.getLogger(__name__)
ACTIVE = "ACTIVE"
# polo_aws_api_calls_total{account_id="organizations"}: the management-account role's calls
CALLER_ID = "organizations"


class EmptyOrganisation(Exception):
    """Never a real organisation: treated as a failed refresh, not as every account leaving."""


@dataclass(frozen=True)
class Organisation:
    """What one successful refresh saw."""

    accounts: tuple[Account, ...]      # active accounts, environment resolved
    inactive: frozenset[str]           # suspended, closing or closed: never swept
    by_status: dict[str, int]


class AccountDiscovery:
    def __init__(self, settings: OrganizationsSettings, aws: AwsSettings, access: AwsAccess,
                 region: str):
        self.settings, self.aws, self.access, self.region = settings, aws, access, region
        self.caller = Account(id=CALLER_ID, name=CALLER_ID, environment="",
                              role_arn=settings.role_arn, external_id=settings.external_id)
        self.partition = settings.role_arn.split(":")[1]
        self.known: Organisation | None = None  # the last successful refresh
        self.up: bool | None = None
        self.last_success: float | None = None
        self.last_attempt: float | None = None

    def due(self, now: float) -> bool:
        return self.last_attempt is None or now - self.last_attempt >= self.settings.refresh_interval

    def refresh(self, static: tuple[Account, ...], now: float) -> bool:
        self.last_attempt = now
        try:
            self.known = self._read(frozenset(a.id for a in static))
        except Exception as exc:
            self.up = False
            log.warning("Organizations discovery failed, keeping the last known %s: %s",
                        "account list" if self.known else "static list", error_code(exc))
            return False
        self.up, self.last_success = True, now
        log.info("Organizations: %d active accounts, %d skipped (suspended or closed)",
                 len(self.known.accounts), len(self.known.inactive))
        return True

    def merge(self, static: tuple[Account, ...]) -> tuple[Account, ...]:
        """Static accounts (their names and environments win), then discovered ones. An account
        the organisation reports as suspended or closed is skipped even if listed statically."""
        known = self.known
        if known is None:
            return static
        named = {a.id for a in static}
        return (tuple(a for a in static if a.id not in known.inactive)
                + tuple(a for a in known.accounts if a.id not in named))

    def _client(self):
        return self.access.client(self.caller, "organizations", self.region)

    def _read(self, named: frozenset[str]) -> Organisation:
        client = self._client()
        accounts: list[Account] = []
        inactive: set[str] = set()
        by_status: Counter[str] = Counter()
        ou_names: dict[str, str] = {}
        parents: dict[str, tuple[str, str]] = {}
        # 20 is ListAccounts' largest page; asking for it keeps the page count (and calls) low
        for page in client.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 20}):
            for item in page["Accounts"]:
                # `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED) supersedes `Status`
                status = item.get("State") or item["Status"]
                by_status[status] += 1
                if status != ACTIVE:
                    inactive.add(item["Id"])
                    continue
                if item["Id"] in named:
                    continue
                accounts.append(Account(
                    id=item["Id"], name=item.get("Name") or item["Id"],
                    environment=self._environment(client, item["Id"], parents, ou_names),
                    role_arn=f"arn:{self.partition}:iam::{item['Id']}:role/{self.aws.role_name}",
                    external_id=self.aws.external_id))
        if not by_status:  # an organisation always holds its management account
            raise EmptyOrganisation("ListAccounts returned no accounts at all")
        return Organisation(tuple(sorted(accounts, key=lambda a: (a.name, a.id))),
                            frozenset(inactive), dict(by_status))

    def _environment(self, client, account_id: str, parents: dict, ou_names: dict) -> str:
        tag = self.settings.environment_tag
        if tag:
            for page in client.get_paginator("list_tags_for_resource").paginate(ResourceId=account_id):
                for item in page["Tags"]:
                    if item["Key"] == tag and item["Value"] in ENVIRONMENTS:
                        return item["Value"]
        mapping = dict(self.settings.environment_ous)
        if mapping:
            child = account_id
            while True:  # walk up to the root; the nearest OU with a mapped name decides
                if child not in parents:
                    parent = client.list_parents(ChildId=child)["Parents"][0]
                    parents[child] = (parent["Id"], parent["Type"])
                parent_id, kind = parents[child]
                if kind != "ORGANIZATIONAL_UNIT":
                    break
                if parent_id not in ou_names:
                    ou_names[parent_id] = client.describe_organizational_unit(
                        OrganizationalUnitId=parent_id)["OrganizationalUnit"]["Name"]
                if ou_names[parent_id] in mapping:
                    return mapping[ou_names[parent_id]]
                child = parent_id
        return self.settings.default_environment

    def families(self) -> list[Family]:
        up = Family("polo_organizations_discovery_up", "gauge",
                    "1 if the last AWS Organizations account listing succeeded, else 0.")
        last = Family("polo_organizations_discovery_last_success_timestamp_seconds", "gauge",
                      "When the last successful AWS Organizations account listing finished.")
        accounts = Family("polo_organizations_accounts", "gauge",
                          "Accounts in the organisation by status, as of the last successful listing.")
        if self.up is not None:
            up.add("", 1 if self.up else 0)
        if self.last_success is not None:
            last.add("", self.last_success)
        if self.known is not None:
            for status, n in sorted(self.known.by_status.items()):
                accounts.add(label_string(("status",), (status,)), n)
        return [up, last, accounts]

"""The label sets every family naming an account or a resource shares, so dashboards and alerts
can join or `sum by` any of them: the account's three labels and a resource's identity, each
written once and escaped once per account."""
from __future__ import annotations

from typing import TYPE_CHECKING

from polo.render.exposition import escape, label_string

if TYPE_CHECKING:
    from polo.config import Config
    from polo.model import Resource

ACCOUNT_LABELS = ("account_id", "account", "environment")
IDENTITY = ACCOUNT_LABELS + ("region", "resource_type", "resource_id")
UNKNOWN = "unknown"


class AccountNames:
    """account_id -> (name, environment); accounts missing from config read 'unknown'."""

    def __init__(self, config: Config):
        self._names = {a.id: (a.name, a.environment) for a in config.former_accounts + config.accounts}
        self._prefixes: dict[str, str] = {}

    def __call__(self, account_id: str) -> tuple[str, str]:
        return self._names.get(account_id, (UNKNOWN, UNKNOWN))

    def prefix(self, account_id: str) -> str:
        """The account's three identity labels, escaped once per account."""
        prefix = self._prefixes.get(account_id)
        if prefix is None:
            prefix = self._prefixes[account_id] = label_string(ACCOUNT_LABELS, (account_id,) + self(account_id))
        return prefix


def identity_labels(resource: Resource, names: AccountNames) -> str:
    """label_string(IDENTITY, ...) for the resource, with the account's part cached."""
    return (f'{names.prefix(resource.account_id)},region="{escape(resource.region)}",'
            f'resource_type="{escape(resource.resource_type)}",resource_id="{escape(resource.resource_id)}"')

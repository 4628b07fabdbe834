"""The accounts this replica works on, settled before each sweep.

The static list, merged with AWS Organizations discovery when configured, restricted to this
replica's shard. An account that leaves (the organisation, or the config on reload) is
remembered for the prune window so the tombstones of its resources keep its name and
environment, and polo_account_departed_timestamp_seconds says when it went.
"""
from __future__ import annotations

from dataclasses import replace

from polo.aws.access import AwsAccess
from polo.config import Account, Config
from polo.render.exposition import Family, label_string
from polo.render.labels import ACCOUNT_LABELS
from polo.accounts.organizations import AccountDiscovery


class Roster:
    def __init__(self, config: Config, access: AwsAccess):
        self.access = access
        self.base = config
        self.discovery: AccountDiscovery | None = None
        self._current: dict[str, Account] = {}
        self._former: dict[str, tuple[Account, float]] = {}  # id -> (account, when it left)
        self.rebase(config)

    def rebase(self, config: Config) -> None:
        """A new static config (a reload), maybe with new AWS settings. Discovery keeps its last
        known organisation, even when the way to read it changed."""
        previous = self.discovery
        self.base = config
        settings = config.organizations
        if settings is None:
            self.discovery = None
        elif previous is None or previous.settings != settings or previous.aws != config.aws:
            self.discovery = AccountDiscovery(settings, config.aws, self.access, config.regions[0])
            if previous is not None:  # same organisation, new way in: keep what we knew
                self.access.forget(previous.caller)
                self.discovery.known, self.discovery.last_success = previous.known, previous.last_success

    def update(self, now: float) -> tuple[Config, set[str]]:
        """The effective config (accounts = static + discovered, former accounts named) and the
        ids of the accounts that left since the last update."""
        static = self.base.accounts
        discovery = self.discovery
        if discovery is not None and discovery.due(now):
            discovery.refresh(static, now)
        accounts = discovery.merge(static) if discovery is not None else static
        ids = {a.id for a in accounts}
        departed = set(self._current) - ids
        for account_id in departed:
            self._former[account_id] = (self._current[account_id], now)
        window = self.base.sweep.prune_window
        self._former = {k: v for k, v in self._former.items() if k not in ids and now - v[1] < window}
        self._current = {a.id: a for a in accounts}
        config = replace(self.base, accounts=accounts,
                         former_accounts=tuple(account for account, _ in self._former.values()))
        return config, departed

    def families(self, config: Config) -> list[Family]:
        departed = Family("polo_account_departed_timestamp_seconds", "gauge",
                          "Tombstone: when an account left the organisation or the config; "
                          "exported for the prune window.")
        for account, when in sorted(self._former.values(), key=lambda item: item[0].id):
            if config.shard.owns(account.id):
                departed.add(label_string(ACCOUNT_LABELS,
                                          (account.id, account.name, account.environment)), when)
        return [departed] + (self.discovery.families() if self.discovery is not None else [])

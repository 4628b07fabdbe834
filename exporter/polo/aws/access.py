"""AWS access at the edge: one assumed-role session per account, clients with bounded
retries and timeouts, and a count of every API attempt for the self-metrics.

Nothing here knows whether it talks to AWS, LocalStack or moto: `endpoint_url` decides.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import boto3
import botocore.session
import botocore.utils
from botocore.config import Config as BotoConfig
from botocore.credentials import (
    AssumeRoleCredentialFetcher, CredentialProvider, CredentialResolver, DeferredRefreshableCredentials,
)

from polo.aws.api_stats import ApiStats
from polo.aws.operations import called_operations_loader
from polo.config import Account, AwsSettings
from polo.errors import CodedError, error_code

__all__ = ["AssumeRoleError", "ApiStats", "AwsAccess", "error_code"]


class AssumeRoleError(CodedError):
    """The account's role could not be assumed. The message names the account, never the role
    ARN or external id (logs at INFO must not carry them)."""

    def __init__(self, account: Account, code: str):
        super().__init__(code, f"cannot assume the role of account {account.id}: {code}")


class _NoCache(dict):
    """The fetcher's credential cache, disabled: the refreshable credentials decide when to
    assume the role again, and a cached answer would defeat a refresh they asked for."""

    def __setitem__(self, key, value) -> None:
        pass


class _Fixed(CredentialProvider):
    """A credential provider chain of one: the account's assumed-role credentials."""

    METHOD = "polo-assume-role"

    def __init__(self, credentials):
        super().__init__()
        self._credentials = credentials

    def load(self):
        return self._credentials


def parse_timestamp(value: Any) -> dt.datetime:
    """A timestamp in a reply: AWS's ISO 8601 ones read by the standard library, anything else
    (epoch seconds, HTTP dates) by botocore's own parser, which reads every timestamp with
    dateutil, hundreds of times slower: a large part of parsing a Describe reply."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:  # a naive one keeps botocore's reading
                return parsed
    return botocore.utils.parse_timestamp(value)


# botocore's event names as its event emitters rewrite them (its table of renamed events, the
# same for every emitter): each session and each client has an emitter of its own, which worked
# out every name afresh through that whole table on first use.
_EVENT_NAMES: dict[str, str] = {}


class _SharedEventNames:
    """A base of every client class: the client's emitter reads and fills the shared table of
    event names instead of one of its own (see _EVENT_NAMES). If botocore renames the private
    `_alias_name_cache`, each client keeps its own, as before, and
    test_clients_share_their_event_names fails."""

    def __init__(self, *args, **kwargs) -> None:
        emitter = kwargs.get("event_emitter")
        if isinstance(getattr(emitter, "_alias_name_cache", None), dict):
            emitter._alias_name_cache = _EVENT_NAMES  # type: ignore[union-attr]
        super().__init__(*args, **kwargs)


class AwsAccess:
    """Per-account assumed-role sessions with cached, auto-refreshing credentials."""

    def __init__(self, settings: AwsSettings, home_region: str, stats: ApiStats | None = None,
                 base_session: boto3.Session | None = None, max_pool_connections: int = 10):
        self.stats = stats or ApiStats()
        self._base = base_session or boto3.Session()
        self.stats.attach(self._base.events.register, "base")
        # One loader (and so one parsed copy of each service's JSON model) for every account's
        # session: a session of its own per account would hold ~40 MB of EC2 model each. Its
        # models hold only the operations Polo calls (polo.aws.operations).
        self._loader = called_operations_loader()
        self._base_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        # Clients are created one at a time: the first clients of a service, created at once by
        # many sweep threads, would each parse its model (tens of MB for EC2) before one is cached.
        self._create_lock = threading.Lock()
        self._client_methods: dict[str, dict[str, Any]] = {}  # by creating-client-class event
        self._model_caches: dict[tuple[str, str], dict] = {}  # by service name and API version
        self._configured: tuple[AwsSettings, str, int] | None = None
        self.reconfigure(settings, home_region, max_pool_connections)

    def reconfigure(self, settings: AwsSettings, home_region: str, max_pool_connections: int = 10) -> None:
        """New AWS settings (a reload): every session and client is made afresh from the next
        call, in place, so whoever holds this object keeps using it; calls in flight finish on
        the old clients. The same settings change nothing."""
        wanted = (settings, home_region, max_pool_connections)
        if wanted == self._configured:
            return
        with self._base_lock, self._locks_lock:
            self._configured = wanted
            self.settings, self.home_region = settings, home_region
            self.client_config = BotoConfig(
                retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
                connect_timeout=settings.connect_timeout,
                read_timeout=settings.read_timeout,
                max_pool_connections=max_pool_connections,
                user_agent_extra="polo-exporter",
            )
            self._sts = None
            # by (account id, role): the billing export may be read with another role of an account
            self._sessions: dict[tuple[str, str], boto3.Session] = {}
            self._clients: dict[tuple[str, str, str, str], Any] = {}

    def _account_lock(self, account_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(account_id, threading.Lock())

    def _base_sts(self):
        with self._base_lock:
            if self._sts is None:
                self._sts = self._base.client("sts", region_name=self.home_region,
                                              endpoint_url=self.settings.endpoint_url,
                                              config=self.client_config)
            return self._sts

    def _credentials(self, account: Account) -> DeferredRefreshableCredentials:
        """botocore's own assume-role fetcher behind refreshable credentials: the role is
        assumed again before the temporary credentials expire. Any failure, first or at a
        refresh inside a collector's call, is an AssumeRoleError for this account alone."""
        source = self._base.get_credentials()
        extra = {"RoleSessionName": self.settings.session_name, "DurationSeconds": 3600}
        if account.external_id:
            extra["ExternalId"] = account.external_id
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=lambda service, **_source_keys: self._base_sts(),  # already holds them
            source_credentials=source, role_arn=account.role_arn, extra_args=extra,
            cache=_NoCache())

        def fetch() -> dict:
            if source is None:
                raise AssumeRoleError(account, "NoCredentials")
            try:
                return fetcher.fetch_credentials()
            except Exception as exc:
                raise AssumeRoleError(account, error_code(exc)) from exc

        return DeferredRefreshableCredentials(refresh_using=fetch, method="polo-assume-role")

    def session(self, account: Account) -> boto3.Session:
        """The account's session; assumes the role on first use, refreshes before expiry."""
        with self._account_lock(account.id):
            session = self._sessions.get((account.id, account.role_arn))
            if session is None:
                credentials = self._credentials(account)
                credentials.get_frozen_credentials()  # assume now: a denied role fails here, once
                core = botocore.session.get_session()
                core.register_component("data_loader", self._loader)
                core.register_component("credential_provider", CredentialResolver([_Fixed(credentials)]))
                core.register("creating-client-class", self._share_client_methods)
                core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
                self.stats.attach(core.register, account.id)
                session = boto3.Session(botocore_session=core)
                self._sessions[(account.id, account.role_arn)] = session
            return session

    def _share_client_methods(self, class_attributes: dict[str, Any], base_classes: list[type], event_name: str,
                              **_) -> None:
        """botocore builds a class per client, with a method, a docstring and an operation model
        for every operation of the service (EC2 has hundreds): about 1 MB per EC2 client, and an
        estate has one per account and region. The methods only name their operation, so every
        client of a service gets the first one's (the class itself stays its own), and its
        event names (_SharedEventNames); runs under _create_lock, through botocore's documented
        class-creation event."""
        first = self._client_methods.setdefault(event_name, dict(class_attributes))
        for name in class_attributes.keys() & first.keys():
            class_attributes[name] = first[name]
        base_classes.insert(0, _SharedEventNames)

    def _share_model_cache(self, client) -> None:
        """Each client gets a ServiceModel of its own, whose cache fills with an operation model
        per operation as its methods are built and with the shapes of every reply it parses:
        the same for every client of a service. They all read the
        first one's cache instead (the model is built from the same JSON). botocore offers no
        public way to share it: if `_instance_cache` goes, each client keeps its own, as
        before, and test_clients_of_a_service_share_their_operation_models fails."""
        model = client.meta.service_model
        cache = getattr(model, "_instance_cache", None)
        if isinstance(cache, dict):
            model._instance_cache = self._model_caches.setdefault((model.service_name, model.api_version), cache)

    def forget(self, account: Account) -> None:
        """Drop the account's sessions and clients: after its role failed, assume it afresh."""
        with self._account_lock(account.id):
            for session_key in [key for key in self._sessions if key[0] == account.id]:
                del self._sessions[session_key]
            for client_key in [key for key in self._clients if key[0] == account.id]:
                del self._clients[client_key]

    def release(self, account_id: str, region: str | None = None) -> None:
        """Drop the account's clients in `region` (None: every region), keeping its session and
        credentials: a large estate's clients are made per sweep (polo.sweep)."""
        with self._account_lock(account_id):
            for key in [key for key in self._clients if key[0] == account_id and region in (None, key[3])]:
                del self._clients[key]

    def client(self, account: Account, service: str, region: str):
        session = self.session(account)
        key = (account.id, account.role_arn, service, region)
        with self._account_lock(account.id):
            client = self._clients.get(key)
            if client is None:
                with self._create_lock:
                    client = session.client(service, region_name=region,
                                            endpoint_url=self.settings.endpoint_url,
                                            config=self.client_config)
                    self._share_model_cache(client)
                self._clients[key] = client
            return client

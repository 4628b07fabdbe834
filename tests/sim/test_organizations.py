"""AWS Organizations discovery against moto's Organizations (in-process): every page, static
list precedence, environment from tag or OU, suspended accounts skipped, departures pruned like
deleted resources, and the last known list kept when discovery fails."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from support.common import ACCOUNT_A, ACCOUNT_B, assumed_client, make_config
from polo.aws.access import AwsAccess
from polo.config import ConfigError, parse_config
from polo.exporter import Exporter

MANAGEMENT = ACCOUNT_A
ORG_ROLE = f"arn:aws:iam::{MANAGEMENT}:role/PoloOrganizations"
ENVIRONMENT = {"tag": "environment", "ous": {"Production": "prod", "Sandbox": "dev"}, "default": "dev"}


@pytest.fixture
def org(moto):
    client = assumed_client("organizations", MANAGEMENT)
    client.create_organization(FeatureSet="ALL")
    return client


def create(client, name, tags=()):
    status = client.create_account(Email=f"{name}@example.com", AccountName=name,
                                   Tags=[{"Key": k, "Value": v} for k, v in tags])
    return status["CreateAccountStatus"]["AccountId"]


def exporter_for(config):
    return Exporter(config, AwsAccess(config.aws, home_region="us-east-1"), sources=())


def discovery_config(**organizations):
    return make_config(accounts=(MANAGEMENT,), collectors=["vpcs"], costs={"enabled": False},
                       organizations={"role_arn": ORG_ROLE, "environment": ENVIRONMENT, **organizations})


def families(exporter):
    return {f.name: f for f in text_string_to_metric_families(exporter.payload.plain.decode())}


def samples(exporter, name):
    family = families(exporter).get(name)
    return family.samples if family else []


def test_every_page_is_read_and_static_names_win(org):
    created = {create(org, f"member-{n:02d}") for n in range(25)}
    exporter = exporter_for(discovery_config())
    exporter.settle_accounts(1000.0)
    accounts = {a.id: a for a in exporter.config.accounts}
    assert set(accounts) == created | {MANAGEMENT}
    assert accounts[MANAGEMENT].name == "acct0" and accounts[MANAGEMENT].environment == "prod"
    assert accounts[next(iter(created))].role_arn.endswith(":role/PoloReadOnly")
    calls, _ = exporter.access.stats.snapshot()
    assert calls[("organizations", "organizations", "ListAccounts")] >= 2  # moto pages by 20


def test_environment_from_tag_then_nearest_mapped_ou_then_default(org):
    root = org.list_roots()["Roots"][0]["Id"]
    production = org.create_organizational_unit(ParentId=root, Name="Production")["OrganizationalUnit"]["Id"]
    team = org.create_organizational_unit(ParentId=production, Name="team-a")["OrganizationalUnit"]["Id"]
    tagged = create(org, "tagged", [("environment", "dev")])
    nested = create(org, "nested")
    org.move_account(AccountId=nested, SourceParentId=root, DestinationParentId=team)
    bad_tag = create(org, "bad-tag", [("environment", "staging")])
    org.move_account(AccountId=bad_tag, SourceParentId=root, DestinationParentId=production)
    plain = create(org, "plain")

    exporter = exporter_for(discovery_config())
    exporter.settle_accounts(1000.0)
    environment = {a.name: a.environment for a in exporter.config.accounts}
    assert environment == {"acct0": "prod", "tagged": "dev", "nested": "prod", "bad-tag": "prod",
                           "plain": "dev"}
    assert {tagged, plain} <= {a.id for a in exporter.config.accounts}


def test_suspended_and_closed_accounts_are_skipped_even_when_static(org):
    keep = create(org, "keep")
    closed = create(org, "closed")
    org.close_account(AccountId=closed)
    config = parse_config({"accounts": [{"id": MANAGEMENT, "name": "mgmt", "environment": "prod"},
                                        {"id": closed, "name": "old", "environment": "dev"}],
                           "collectors": ["vpcs"], "costs": {"enabled": False},
                           "organizations": {"role_arn": ORG_ROLE}}, "test.yml")
    exporter = exporter_for(config)
    exporter.sweep_once()
    assert {a.id for a in exporter.config.accounts} == {MANAGEMENT, keep}
    statuses = {s.labels["status"]: s.value for s in samples(exporter, "polo_organizations_accounts")}
    assert statuses == {"ACTIVE": 2, "SUSPENDED": 1}
    assert {s.labels["account_id"] for s in samples(exporter, "polo_account_info")} == {MANAGEMENT, keep}


def test_an_account_leaving_the_organisation_is_pruned_like_a_deleted_resource(org):
    member = create(org, "leaver", [("environment", "prod")])
    exporter = exporter_for(discovery_config(refresh_interval="1ms"))
    exporter.sweep_once()
    assert member in {s.labels["account_id"] for s in samples(exporter, "polo_resource_info")}

    org.remove_account_from_organization(AccountId=member)
    exporter.sweep_once()
    assert member not in {s.labels["account_id"] for s in samples(exporter, "polo_account_info")}
    assert member not in {s.labels["account_id"] for s in samples(exporter, "polo_resource_info")}
    assert member not in {s.labels["account_id"] for s in samples(exporter, "polo_collector_up")}
    tombstones = [s for s in samples(exporter, "polo_resource_deleted_timestamp_seconds")
                  if s.labels["account_id"] == member]
    assert tombstones and all(s.labels["account"] == "leaver" and s.labels["environment"] == "prod"
                              for s in tombstones)  # same labels as before: no new series
    departed = samples(exporter, "polo_account_departed_timestamp_seconds")
    assert [(s.labels["account_id"], s.labels["account"]) for s in departed] == [(member, "leaver")]

    # after the prune window nothing of the account is left, not even under account="unknown"
    exporter.settle_accounts(exporter.snapshot.taken_at + 86400 + 1)
    exporter.snapshot = exporter.inventory.apply([], exporter.snapshot.taken_at + 86400 + 1)
    exporter.publish()
    text = exporter.payload.plain.decode()
    assert member not in text and 'account="unknown"' not in text


def test_discovery_failure_keeps_the_last_known_list_and_shows_in_metrics(org):
    members = {create(org, "one"), create(org, "two")}
    exporter = exporter_for(discovery_config(refresh_interval="1ms"))
    exporter.sweep_once()
    assert [s.value for s in samples(exporter, "polo_organizations_discovery_up")] == [1]
    first_success = samples(exporter, "polo_organizations_discovery_last_success_timestamp_seconds")[0].value

    for member in members:  # a real failure: the organisation is gone, ListAccounts refused
        org.remove_account_from_organization(AccountId=member)
    org.delete_organization()
    exporter.sweep_once()
    assert {a.id for a in exporter.config.accounts} == members | {MANAGEMENT}
    assert [s.value for s in samples(exporter, "polo_organizations_discovery_up")] == [0]
    assert samples(exporter, "polo_organizations_discovery_last_success_timestamp_seconds")[0].value == first_success


def test_a_new_role_that_fails_keeps_the_last_known_list(org):
    member = create(org, "member")
    exporter = exporter_for(discovery_config(refresh_interval="1ms"))
    exporter.sweep_once()
    broken = discovery_config(refresh_interval="1ms", role_arn=f"arn:aws:iam::{ACCOUNT_B}:role/PoloOrganizations")
    exporter.roster.rebase(broken)  # as a reload does: ACCOUNT_B belongs to no organisation
    exporter.sweep_once()
    assert {a.id for a in exporter.config.accounts} == {member, MANAGEMENT}
    assert [s.value for s in samples(exporter, "polo_organizations_discovery_up")] == [0]
    calls, _ = exporter.access.stats.snapshot()  # the new role was used (moto answers it with no accounts)
    assert calls[("organizations", "organizations", "ListAccounts")] == 2


def test_discovery_config_is_validated():
    with pytest.raises(ConfigError, match="organizations.role_arn: is required"):
        parse_config({"accounts": [], "organizations": {}}, "test.yml")
    with pytest.raises(ConfigError, match=r"organizations.environment.ous.Prod: must be one of"):
        parse_config({"organizations": {"role_arn": ORG_ROLE, "environment": {"ous": {"Prod": "live"}}},
                      "costs": {"enabled": False}}, "test.yml")
    with pytest.raises(ConfigError, match="costs.enabled: Cost Explorer needs its payer account"):
        parse_config({"organizations": {"role_arn": ORG_ROLE}}, "test.yml")
    config = parse_config({"organizations": {"role_arn": ORG_ROLE}, "costs": {"enabled": False}}, "test.yml")
    assert config.accounts == () and config.organizations.refresh_interval == 3600

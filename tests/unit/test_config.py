import copy
import os
from pathlib import Path

import pytest
import yaml

from polo.cli import example_config_path, main
from polo.config import ConfigError, load_config, parse_config, tag_label_name

REPO = Path(__file__).resolve().parents[2]

MINIMAL = {"accounts": [{"id": "111111111111", "name": "a", "environment": "prod"}]}
ACCOUNT = "accounts:\n  - id: '111111111111'\n    name: a\n    environment: prod\n"


def write(tmp_path, data, name="polo.yml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def with_(**changes):
    data = {"accounts": [dict(a) for a in MINIMAL["accounts"]]}
    data.update(changes)
    return data


def test_example_config_lists_the_16_v1_accounts():
    config = load_config(REPO / "polo.example.yml")
    assert len(config.accounts) == 16
    assert {a.environment for a in config.accounts} == {"prod", "dev"}
    assert config.account("010928202142").name == "preprod_controller"
    assert config.sweep.interval == 300 and config.sweep.prune_window == 86400
    assert Path(example_config_path()).read_text() == (REPO / "polo.example.yml").read_text()


def test_defaults_and_role_arn():
    config = parse_config(with_(aws={"role_name": "Reader", "external_id": "x"}), "f.yml")
    account = config.accounts[0]
    assert account.role_arn == "arn:aws:iam::111111111111:role/Reader"
    assert account.external_id == "x"
    assert config.regions == ("us-east-1",)
    assert len(config.collectors) == 23
    assert config.costs.account == "111111111111"


def test_action_thresholds_parse_and_default():
    config = parse_config(with_(actions={"sagemaker_endpoint_idle_days": 14, "eks_cluster_idle_days": 0,
                                         "log_group_min_stored_gib": 0.5, "ecr_min_stored_gib": 10,
                                         "notebook_running_days": 1.5}), "f.yml")
    assert (config.actions.sagemaker_endpoint_idle_days, config.actions.eks_cluster_idle_days,
            config.actions.log_group_min_stored_gib, config.actions.ecr_min_stored_gib,
            config.actions.notebook_running_days) == (14, 0, 0.5, 10, 1.5)
    defaults = parse_config(with_(), "f.yml").actions
    assert (defaults.sagemaker_endpoint_idle_days, defaults.eks_cluster_idle_days, defaults.log_group_min_stored_gib,
            defaults.ecr_min_stored_gib, defaults.notebook_running_days) == (7, 7, 1, 1, 3)


def test_durations_parse():
    config = parse_config(with_(sweep={"interval": "90s", "prune_window": "2d"}), "f.yml")
    assert config.sweep.interval == 90 and config.sweep.prune_window == 172800


def test_tag_label_names_are_sanitised():
    assert tag_label_name("aws:cloudformation:stack-name") == "tag_aws_cloudformation_stack_name"


@pytest.mark.parametrize("data, key, problem", [
    ("accounts: [", "", "YAML syntax error at line"),
    (with_(bogus=1), "bogus", "unknown key"),
    (with_(sweep={"intervall": "5m"}), "sweep.intervall", "unknown key"),
    ({"accounts": []}, "accounts", "non-empty list"),
    ({"accounts": [{"id": "12345", "name": "a", "environment": "prod"}]}, "accounts[0].id",
     "is not a 12-digit AWS account id"),
    ({"accounts": [{"id": 123456789012, "name": "a", "environment": "prod"}]}, "accounts[0].id",
     "must be a quoted 12-digit string"),
    ({"accounts": [{"id": "111111111111", "name": "a", "environment": "prod"},
                   {"id": "111111111111", "name": "b", "environment": "dev"}]},
     "accounts[1].id", "duplicate account id 111111111111"),
    ({"accounts": [{"id": "111111111111", "name": "a", "environment": "qa"}]},
     "accounts[0].environment", "must be one of prod, dev"),
    ({"accounts": [{"id": "111111111111", "environment": "prod"}]}, "accounts[0].name", "is required"),
    ({"accounts": [{"id": None, "name": "a", "environment": "prod"}]}, "accounts[0].id", "is required"),
    ({"accounts": [{"id": "111111111111", "name": "a", "environment": "prod", "role_arn": "nope"}]},
     "accounts[0].role_arn", "is not an IAM role ARN"),
    (with_(sweep={"interval": "5 minutes"}), "sweep.interval", "bad duration"),
    (with_(sweep={"prune_window": -1}), "sweep.prune_window", "bad duration"),
    (with_(sweep={"workers": 0}), "sweep.workers", "integer >= 1"),
    (with_(sweep={"per_region_workers": 0}), "sweep.per_region_workers", "integer >= 1"),
    (with_(sweep={"per_account_workers": 4}), "sweep.per_account_workers",
     "renamed to per_region_workers: the cap is now per account and region"),
    (with_(collectors=["ec2_instances", "dynamodb"]), "collectors[1]", "unknown collector 'dynamodb'"),
    (with_(regions=["us-east-1", "mars-north-1"]), "regions[1]", "unknown AWS region 'mars-north-1'"),
    (with_(regions=["aws-global"]), "regions[0]", "unknown AWS region 'aws-global'"),
    (with_(tags={"labels": ["cost-center", "cost_center"]}), "tags.labels[1]", "both become label"),
    (with_(web={"listen_address": "localhost"}), "web.listen_address", "is not HOST:PORT"),
    (with_(aws={"endpoint_url": "localhost:5000"}), "aws.endpoint_url", "not an http(s) URL"),
    (with_(costs={"metric": "BlendedCost"}), "costs.metric", "must be one of"),
    (with_(costs={"account": "222222222222"}), "costs.account", "not one of the configured accounts"),
    (with_(budget={"golden_date": "June 21"}), "budget.golden_date", "must be a date"),
    (ACCOUNT + "budget:\n  golden_date: 2025-13-01\n", "budget.golden_date", "must be a date"),
    (ACCOUNT + "sweep:\n  interval: .nan\n", "sweep.interval", "bad duration"),
    (ACCOUNT + "sweep:\n  interval: .inf\n", "sweep.interval", "bad duration"),
    (with_(sweep={"interval": 1e12}), "sweep.interval", "at most 365d"),
    (with_(budget={"monthly_target_usd": float("nan")}), "budget.monthly_target_usd", "must be a number"),
    ({"accounts": [{"id": "١١١١١١١١١١١١", "name": "a", "environment": "prod"}]}, "accounts[0].id",
     "is not a 12-digit AWS account id"),
    (ACCOUNT + "sweep:\n  interval: 5m\n  interval: 1m\n", "sweep.interval", "duplicate key (lines 6 and 7)"),
    (ACCOUNT + "regions: [us-east-1]\nregions: [eu-west-1]\n", "regions", "duplicate key"),
    (with_(collectors=[]), "collectors", "must list at least one collector"),
    (ACCOUNT + "tags:\n  labels: &a [x]\n  required: *a\n", "tags.required", "YAML aliases"),
    (with_(regions=["x" * 10_000]), "regions[0]", "unknown AWS region 'xxxxxxxx"),
    (with_(actions={"log_group_min_stored_gib": -1}), "actions.log_group_min_stored_gib", "must be a number >= 0"),
    (with_(actions={"notebook_running_days": "3d"}), "actions.notebook_running_days", "must be a number >= 0"),
    (with_(actions={"ecr_min_stored_bytes": 1}), "actions.ecr_min_stored_bytes", "unknown key"),
    (with_(pricing={"region": "eu-west-1"}), "pricing.region", "the Price List API's endpoints"),
    (with_(pricing={"refresh_interval": "10m"}), "pricing.refresh_interval", "at least 1h"),
    (with_(pricing={"price_list": "yes"}), "pricing.price_list", "must be true or false"),
    (with_(pricing={"account": "222222222222"}), "pricing.account", "not one of the configured accounts"),
    (with_(pricing={"source": "api"}), "pricing.source", "unknown key"),
])
def test_bad_config_names_file_key_and_problem(tmp_path, capsys, data, key, problem):
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.file == str(path)
    assert err.value.key == key
    assert problem in err.value.problem

    assert main(["--once", "--config", str(path)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0, message
    assert str(path) in message and problem in message and (key in message)
    assert len(message) < 1000, "values are echoed cut short"  # the known collectors are listed


def test_bad_listen_flag_exits_2(tmp_path, capsys):
    path = write(tmp_path, MINIMAL)
    assert main(["--once", "--config", str(path), "--web.listen-address", "nohost"]) == 2
    assert "--web.listen-address" in capsys.readouterr().err


def test_an_alias_bomb_is_refused_quickly_and_briefly(tmp_path, capsys):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    path = write(tmp_path, ACCOUNT + "\n".join(lines) + "\n")
    assert main(["--once", "--config", str(path)]) == 2
    message = capsys.readouterr().err
    assert "YAML aliases" in message and len(message) < 500


def test_an_oversized_file_is_refused(tmp_path):
    path = write(tmp_path, ACCOUNT + "#" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        load_config(path)


def test_a_bad_external_id_is_not_echoed(tmp_path, capsys):
    path = write(tmp_path, with_(aws={"external_id": 987654321987}))
    assert main(["--once", "--config", str(path)]) == 2
    message = capsys.readouterr().err
    assert "aws.external_id" in message and "987654321987" not in message


@pytest.mark.parametrize("listen, problem", [("127.0.0.1:{busy}", "cannot listen"),
                                             ("no-such-host.invalid:{free}", "cannot listen")])
def test_a_listen_address_that_cannot_bind_exits_2(tmp_path, capsys, listen, problem):
    import socket

    from support.common import free_port

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = listen.format(busy=busy.getsockname()[1], free=free_port())
        path = write(tmp_path, with_(web={"listen_address": address}, costs={"enabled": False}))
        assert main(["--config", str(path)]) == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert str(path) in message and "web.listen_address" in message and problem in message


def test_the_readme_table_is_the_declared_keys():
    """Each key is declared once (name, default, check, text); the README shows exactly that.
    After changing a key: POLO_UPDATE_GOLDEN=1 ./dev test tests/unit/test_config.py"""
    from polo.config import markdown_table

    readme = REPO / "README.md"
    text = readme.read_text()
    start = text.index("| key | default | meaning |\n")
    end = text.index("\n\n", start) + 1
    if os.environ.get("POLO_UPDATE_GOLDEN"):
        readme.write_text(text[:start] + markdown_table() + text[end:])
        text = readme.read_text()
    assert text[start:end] == markdown_table()


REQUIRED_KEYS = {"organizations": {"role_arn": "arn:aws:iam::123456789012:role/r"},
                 "billing_export": {"bucket": "billing-bucket", "name": "polo-focus"}}


def test_every_declared_key_is_read_and_an_unknown_one_refused():
    """A key declared but never read (or read but not declared) cannot hide: each declared key
    given a wrong type fails naming exactly that key."""
    from polo.config import SECTIONS, declared

    base = {"accounts": [{"id": "123456789012", "name": "a", "environment": "prod"}],
            "budgets": [{"name": "team", "monthly_target_usd": 1}], "billing_export": REQUIRED_KEYS["billing_export"]}
    for prefix, cls in SECTIONS:
        for _field, yaml_name, _key in declared(cls):
            listed = prefix.removesuffix("[].") if prefix.endswith("[].") else None  # accounts[], budgets[]
            path = yaml_name if listed else prefix + yaml_name
            data = copy.deepcopy(base)
            node = data[listed][0] if listed else data
            *sections, leaf = path.split(".")
            for section in sections:  # a section's required keys, so that the key under test fails
                node = node.setdefault(section, dict(REQUIRED_KEYS.get(section, {})))
            node[leaf] = [["not", "a", "scalar"]]
            with pytest.raises(ConfigError) as caught:
                parse_config(data, "polo.yml")
            expected = f"{listed}[0].{yaml_name}" if listed else prefix + yaml_name
            assert caught.value.key.startswith(expected), (expected, caught.value)
    with pytest.raises(ConfigError, match=r"sweep\.nope: unknown key"):
        parse_config({**base, "sweep": {"nope": 1}}, "polo.yml")


@pytest.mark.parametrize("billing, key, problem", [
    ({"name": "x"}, "billing_export.bucket", "is required"),
    ({"bucket": "Not_A_Bucket", "name": "x"}, "billing_export.bucket", "is not an S3 bucket name"),
    ({"bucket": "acme-billing"}, "billing_export.name", "is required"),
    ({"bucket": "acme-billing", "name": "x", "format": "cur"}, "billing_export.format", "must be one of focus, cur2"),
    ({"bucket": "acme-billing", "name": "x", "account": "999999999999"}, "billing_export.account",
     "not one of the configured accounts"),
    ({"bucket": "acme-billing", "name": "x", "refresh_interval": "1m"}, "billing_export.refresh_interval",
     "at least 5m"),
])
def test_billing_export_problems_name_the_key(billing, key, problem):
    data = {"accounts": [{"id": "123456789012", "name": "a", "environment": "prod"}], "billing_export": billing}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "polo.yml")
    assert caught.value.key == key and problem in caught.value.problem


def test_billing_export_reads_with_the_payer_by_default():
    data = {"accounts": [{"id": "123456789012", "name": "a", "environment": "prod"},
                         {"id": "210987654321", "name": "b", "environment": "dev"}],
            "costs": {"account": "210987654321"}, "billing_export": {"bucket": "acme-billing", "name": "focus"}}
    settings = parse_config(data, "polo.yml").billing_export
    assert settings is not None
    assert (settings.account, settings.format, settings.prefix) == ("210987654321", "focus", "")


def test_every_partitions_regions_are_known():
    from polo.config import known_regions

    assert {"us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"} <= known_regions()

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from polo.cli import example_config_path, main
from polo.config import ConfigError, load_config, parse_config, tag_label_name

REPO = Path(__file__).resolve().parents[1]

MINIMAL = {"accounts": [{"id": "111111111111", "name": "a", "environment": "prod"}]}


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
    assert len(config.collectors) == 12
    assert config.costs.account == "111111111111"


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
    ({"accounts": [{"id": "111111111111", "name": "a", "environment": "prod", "role_arn": "nope"}]},
     "accounts[0].role_arn", "is not an IAM role ARN"),
    (with_(sweep={"interval": "5 minutes"}), "sweep.interval", "bad duration"),
    (with_(sweep={"prune_window": -1}), "sweep.prune_window", "bad duration"),
    (with_(sweep={"workers": 0}), "sweep.workers", "integer >= 1"),
    (with_(collectors=["ec2_instances", "dynamodb"]), "collectors[1]", "unknown collector 'dynamodb'"),
    (with_(regions=["us-east-1", "mars-north-1"]), "regions[1]", "unknown AWS region 'mars-north-1'"),
    (with_(tags={"labels": ["cost-center", "cost_center"]}), "tags.labels[1]", "both become label"),
    (with_(web={"listen_address": "localhost"}), "web.listen_address", "is not HOST:PORT"),
    (with_(aws={"endpoint_url": "localhost:5000"}), "aws.endpoint_url", "not an http(s) URL"),
    (with_(costs={"metric": "BlendedCost"}), "costs.metric", "must be one of"),
    (with_(costs={"account": "222222222222"}), "costs.account", "not one of the configured accounts"),
    (with_(budget={"golden_date": "June 21"}), "budget.golden_date", "must be a date"),
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


def test_missing_file_exits_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "polo", "--once", "--config", str(tmp_path / "nope.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"polo-exporter: config error: {tmp_path / 'nope.yml'}: file not found"


def test_bad_listen_flag_exits_2(tmp_path, capsys):
    path = write(tmp_path, MINIMAL)
    assert main(["--once", "--config", str(path), "--web.listen-address", "nohost"]) == 2
    assert "--web.listen-address" in capsys.readouterr().err

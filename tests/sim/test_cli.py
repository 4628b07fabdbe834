"""The command line's contract: exit codes and what --once prints."""
import gc
import importlib

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from support.common import free_port
import polo.cli
from polo.cli import GC_YOUNG_THRESHOLD, main


def unreachable_aws_config(tmp_path):
    config = tmp_path / "polo.yml"
    config.write_text(yaml.safe_dump({
        "accounts": [{"id": "111111111111", "name": "a", "environment": "prod"}],
        "collectors": ["vpcs"],
        "costs": {"enabled": False},
        "state_dir": str(tmp_path / "state"),
        "aws": {"endpoint_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 1,
                "connect_timeout": "1s", "read_timeout": "1s"},
    }))
    return config


def test_once_exits_1_and_still_prints_when_aws_is_unreachable(tmp_path, capsysbinary, aws_env):
    assert main(["--once", "--config", str(unreachable_aws_config(tmp_path))]) == 1
    out, err = capsysbinary.readouterr()
    parsed = {f.name: f for f in text_string_to_metric_families(out.decode())}
    assert [s.value for s in parsed["polo_account_up"].samples] == [0]
    assert [s.labels["error"] for s in parsed["polo_collector_error_info"].samples] == ["EndpointConnectionError"]


def test_the_exporter_runs_young_garbage_collections_rarely(tmp_path, capsysbinary, aws_env):
    """CPython's default (every 700 allocations) cost a cold sweep a third of its CPU."""
    default = gc.get_threshold()
    main(["--once", "--config", str(unreachable_aws_config(tmp_path))])
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *default[1:])


@pytest.mark.parametrize("program, expected", [
    ("polo.cli", ["(default: info)", "level of Polo's own log lines", "Sweep every account and region"]),
    ("polo.slack.relay", ["(default: 0.0.0.0:19882)", "(default: 10m)", "Receive Alertmanager's webhook"]),
    ("polo.slack.digest", ["(default: http://localhost:9090)", "(default: polo-digest-posted.json)",
                           "Post a daily AWS cost summary"]),
])
def test_help_describes_the_program_and_shows_every_default(program, expected, capsys):
    """--help once showed a code comment as the description and no defaults."""
    module = importlib.import_module(program)
    with pytest.raises(SystemExit):
        module.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for phrase in expected:
        assert phrase in text
    assert "the only place that decides" not in text


def test_a_bad_since_is_refused_before_the_demo_builds_anything(tmp_path, monkeypatch, capsys):
    """backfill --demo once built the whole simulated estate (85 s) before rejecting the date."""
    def never(config):
        raise AssertionError("the simulated estate was built")

    monkeypatch.setattr(polo.cli, "simulated", never)
    assert main(["--demo", "backfill", "--since", "2025-13-01", "--out", str(tmp_path / "x.om")]) == 2
    assert "--since must be a past date like 2025-06-21, got '2025-13-01'" in capsys.readouterr().err

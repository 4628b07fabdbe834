"""The command line's contract: exit codes and what --once prints."""
import gc

import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
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

"""docs/scaling.md's examples work: its Prometheus configs pass `promtool check config`, and its
replica config passes Polo's own config loader."""
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from support.common import require_binary
from polo.config import parse_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def blocks(marker):
    return re.findall(rf"<!-- {marker} -->\n```yaml\n(.*?)```", DOC.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(blocks("promtool:check-config"))))
def test_prometheus_examples_pass_promtool(tmp_path, index):
    config = tmp_path / "prometheus.yml"
    config.write_text(blocks("promtool:check-config")[index])
    check = subprocess.run([require_binary("promtool"), "check", "config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_both_prometheus_examples_are_checked():
    assert len(blocks("promtool:check-config")) == 2


def test_replica_example_is_a_valid_polo_config():
    [block] = blocks("polo:config")
    config = parse_config(yaml.safe_load(block), "docs/scaling.md")
    assert (config.shard.index, config.shard.total) == (1, 3)
    assert config.organizations is not None

"""promtool's lint of a rendered exposition."""
import subprocess

from support.common import require_binary
from support.exposition import hostile_resources, render_all, snapshot_with


def test_promtool_check_metrics_is_clean():
    payload = render_all(snapshot_with(hostile_resources()))
    result = subprocess.run([require_binary("promtool"), "check", "metrics"], input=payload.plain,
                            capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == "" and result.stderr.decode().strip() == ""

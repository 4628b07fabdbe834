"""The config errors of the real command line: exit 2, one line, no traceback."""
import subprocess
import sys


def test_missing_file_exits_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "polo", "--once", "--config", str(tmp_path / "nope.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"polo-exporter: config error: {tmp_path / 'nope.yml'}: file not found"

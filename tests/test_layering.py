"""The pure core (model, config, rules, prices, rendering) imports no AWS code: it stays fast to
import, testable without an AWS SDK, and only the edge (aws.py, collectors, costs) talks to AWS."""
import subprocess
import sys

import pytest

CORE = ["polo.model", "polo.config", "polo.labels", "polo.api_stats", "polo.errors", "polo.exposition",
        "polo.metrics", "polo.actions.rules", "polo.actions.source", "polo.pricing", "polo.price_list",
        "polo.resource_costs", "polo.first_seen"]


@pytest.mark.e2e  # a fresh interpreter: this process has long imported boto3
def test_the_core_and_the_renderer_import_no_aws_code():
    probe = (f"import sys; import {', '.join(CORE)}; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

"""The pure core loads no AWS SDK, checked in a fresh interpreter (this process has long
imported boto3)."""
import subprocess
import sys


CORE = ["polo.model", "polo.config", "polo.render.labels", "polo.aws.api_stats", "polo.errors",
        "polo.render.exposition", "polo.render.inventory", "polo.actions.rules", "polo.actions.source",
        "polo.prices.pricing", "polo.prices.price_list", "polo.prices.resource_costs", "polo.actions.first_seen"]


def test_the_core_and_the_renderer_import_no_aws_code():
    probe = (f"import sys; import {', '.join(CORE)}; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

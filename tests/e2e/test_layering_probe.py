"""The pure core loads no AWS SDK, checked in a fresh interpreter (this process has long
imported boto3)."""
import subprocess
import sys


CORE = ["polo.model", "polo.config", "polo.render.labels", "polo.aws.api_stats", "polo.errors",
        "polo.render.exposition", "polo.render.inventory", "polo.actions.rules", "polo.actions.source",
        "polo.prices.pricing", "polo.prices.price_list", "polo.prices.resource_costs", "polo.actions.first_seen",
        "polo.billing.schema", "polo.billing.totals", "polo.billing.store"]


def test_the_core_and_the_renderer_import_no_aws_code():
    probe = (f"import sys; import {', '.join(CORE)}; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto'}))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_an_exporter_without_a_billing_export_loads_no_pyarrow():
    """pyarrow costs memory and start-up time; only a configured billing export pays for it."""
    probe = ("import sys; import polo.exporter, polo.cli; "
             "print('pyarrow' in {m.split('.')[0] for m in sys.modules})")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"

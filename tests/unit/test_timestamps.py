"""Polo's reading of reply timestamps gives what botocore's own gives, for every form AWS uses."""
import pytest
from botocore.utils import parse_timestamp as botocores

from polo.aws.access import parse_timestamp


@pytest.mark.parametrize("value", [
    "2026-12-08T00:47:45.253Z", "2026-12-08T00:47:45Z", "2026-12-08T00:47:45+02:00",
    "2026-12-08T00:47:45.123456789Z", "Wed, 21 Oct 2015 07:28:00 GMT", 1700000000, 1700000000.5,
    "1700000000", "2026-12-08T00:47:45",
])
def test_the_same_instant_as_botocore_reads(value):
    ours, theirs = parse_timestamp(value), botocores(value)
    assert ours == theirs and (ours.tzinfo is None) == (theirs.tzinfo is None)

"""The demo stack prices every resource it finds through its Price List."""
import time

from polo.prices.pricing import PRICED_TYPES


def test_the_demo_prices_every_resource_from_the_price_list(demo_prometheus):
    """The demo exporter, scraped by the real Prometheus: once the first sweep's prices are
    fetched, nothing is unpriced and no price comes from the shipped table any more."""
    deadline = time.monotonic() + 240
    while True:
        unpriced = demo_prometheus.query("polo_resource_price_missing")
        from_table = demo_prometheus.query('polo_price_source_info{source!="price_list"}')
        priced = demo_prometheus.query("polo_price_source_info")
        if priced and not unpriced and not from_table:
            break
        assert time.monotonic() < deadline, ([s["metric"] for s in unpriced + from_table], len(priced))
        time.sleep(5)
    assert {s["metric"]["resource_type"] for s in priced} == set(PRICED_TYPES)
    assert demo_prometheus.query("polo_price_list_up == 1")

"""Price List items as GetProducts returns them (decoded), for the price tests."""


def product(usage_type, on_demand=None, unit="Hrs", family="Compute Instance", **attributes):
    """A Price List item as GetProducts returns it (decoded)."""
    terms = {}
    if on_demand is not None:
        tiers = on_demand if isinstance(on_demand, list) else [(0, on_demand)]
        terms["OnDemand"] = {"SKU.JRTCKXETXF": {"priceDimensions": {
            f"SKU.JRTCKXETXF.{n}": {"unit": unit, "beginRange": str(begin), "endRange": "Inf",
                                    "pricePerUnit": {"USD": f"{rate:.10f}"}}
            for n, (begin, rate) in enumerate(tiers)}}}
    terms["Reserved"] = {"SKU.4NA7Y494T4": {"priceDimensions": {"SKU.4NA7Y494T4.X": {
        "unit": "Quantity", "pricePerUnit": {"USD": "500"}}}}}
    return {"product": {"productFamily": family, "attributes": dict(attributes, usagetype=usage_type)},
            "terms": terms}

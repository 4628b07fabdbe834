"""Which accounts a sweep covers: AWS Organizations discovery, the roster, shards."""

"""Cleanup actions: every waste finding in the inventory as a metric, priced in dollars a month.

rules.py is the pure part (the rules, `evaluate`); source.py turns its findings into metrics
and keeps the first-seen memory the rules age conditions with, like polo.costs.
"""

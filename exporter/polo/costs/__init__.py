"""Cost Explorer spend, the budget it is measured against, and daily cost history.

explorer.py talks to AWS (and counts every paid request), store.py keeps final days on disk
so they are bought once, budget.py is the pure arithmetic, source.py turns it into metrics and
backfill.py into OpenMetrics history for promtool.
"""

"""Real spend from the billing export AWS Data Exports writes to S3 (FOCUS 1.0 or CUR 2.0):
`schema` turns either format's columns into one shape, `totals` folds line items into the
figures the metrics show, `store` keeps each billing period's figures in `state_dir`, and
`source` reads the bucket on its own thread (the only part that calls AWS)."""

"""What resources cost: the shipped price table, the AWS Price List API, per-resource estimates."""

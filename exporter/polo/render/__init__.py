"""From a snapshot to exposition bytes: metric families, labels, the text format."""

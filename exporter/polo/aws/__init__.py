"""The AWS edge: assumed-role sessions and clients, API call counting, error codes."""

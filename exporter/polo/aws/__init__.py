"""The AWS edge: assumed-role sessions and clients, and API call counting."""

"""HTTP plumbing shared by polo-exporter and polo-slack-relay: the server shell and the
exporter-toolkit web configuration (TLS, basic auth)."""

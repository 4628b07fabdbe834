"""Helpers the tests share: simulated-AWS set-up, loopback ports, real binaries, the fake
Slack, the Grafana simulator and the services of the stack."""

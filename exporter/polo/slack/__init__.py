"""Slack side of Polo's alerting: the Alertmanager webhook relay (`polo-slack-relay`) and the
daily cost digest (`polo-digest`), both built on slack-sdk."""

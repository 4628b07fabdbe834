"""/healthz promises: 200 only while /metrics carries a recent sweep in which something worked."""
import datetime as dt
import threading

import boto3
from botocore.awsrequest import AWSResponse

from support.common import ACCOUNT_A, make_config
from polo import exporter as running
from polo.aws.access import AwsAccess
from polo.exporter import Exporter


def make_exporter(config, base_session=None):
    return Exporter(config, AwsAccess(config.aws, home_region=config.regions[0], base_session=base_session), sources=())


def test_health_turns_200_only_once_metrics_carry_the_sweep(moto, monkeypatch):
    exporter = make_exporter(make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"]))
    seen = []
    real_render = running.render

    def render_and_look(families):
        payload = real_render(families)
        seen.append((exporter.health()[0], b"polo_resource_info" in exporter.payload.plain))
        return payload

    monkeypatch.setattr(running, "render", render_and_look)
    exporter.sweep_once()
    exporter.sweep_once()
    # while each sweep's payload was being built, health described the published one
    assert seen == [(False, False), (True, True)]
    assert exporter.health()[0] and b"polo_resource_info" in exporter.payload.plain


def test_a_render_that_raises_makes_health_fail(moto, monkeypatch):
    exporter = make_exporter(make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"]))
    exporter.sweep_once()
    assert exporter.health()[0]

    def broken(families):
        raise RuntimeError("render bug")

    monkeypatch.setattr(running, "render", broken)
    exporter.sweep_once()
    healthy, reason = exporter.health()
    assert not healthy and "render" in reason
    assert b"polo_resource_info" in exporter.payload.plain  # the last good payload is still served


def test_health_fails_as_soon_as_every_collector_fails(moto):
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"], aws={"max_attempts": 1})
    exporter = make_exporter(config)
    exporter.sweep_once()
    assert exporter.health()[0]
    client = exporter.access.client(config.account(ACCOUNT_A), "ec2", "us-east-1")
    client.meta.events.register("before-call.ec2.DescribeVpcs", lambda **_: _raise())
    exporter.sweep_once()
    healthy, reason = exporter.health()
    assert not healthy and "every collector failed" in reason


def _raise():
    raise ConnectionResetError("simulated outage")


def test_account_up_drops_when_the_role_can_no_longer_be_assumed(moto):
    base, trusted = boto3.Session(), [True]

    def deny_once_untrusted(**_):
        if trusted[0]:
            return None
        return (AWSResponse("https://aws.invalid", 403, {}, None),
                {"Error": {"Code": "AccessDenied", "Message": "role trust removed"},
                 "ResponseMetadata": {"HTTPStatusCode": 403}})

    base.events.register("before-call.sts.AssumeRole", deny_once_untrusted)
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"])
    exporter = make_exporter(config, base_session=base)
    exporter.sweep_once()
    assert exporter.snapshot.accounts_up == {ACCOUNT_A: True}

    trusted[0] = False
    credentials = exporter.access.session(config.account(ACCOUNT_A)).get_credentials()
    credentials._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)  # must refresh now
    snapshot = exporter.sweep_once()
    assert snapshot.accounts_up == {ACCOUNT_A: False}
    assert {s.error for s in snapshot.tasks.values()} == {"AccessDenied"}
    assert f'polo_account_up{{account_id="{ACCOUNT_A}",account="acct0",environment="prod"}} 0' \
        in exporter.payload.plain.decode()
    assert not exporter.health()[0]


def test_health_fails_when_the_sweeper_thread_dies(moto):
    """An interval of .inf once made the sweeper's wait raise OverflowError and end the thread
    while /healthz stayed 200; the config refuses it now, and health watches the thread."""
    exporter = make_exporter(make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"]))
    swept = threading.Event()

    class Dying:
        def is_set(self):
            return False

        def wait(self, timeout):
            swept.set()
            raise OverflowError("timestamp out of range for platform time_t")

    exporter._wake = Dying()  # the event the sweeper waits on between sweeps
    exporter.start()
    assert swept.wait(30)
    exporter._thread.join(10)
    healthy, reason = exporter.health()
    assert not healthy and "sweeper" in reason

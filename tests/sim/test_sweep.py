"""Sweeps over several simulated accounts: isolation, failures that stay local, pruning."""
from dataclasses import replace

import boto3
from botocore.awsrequest import AWSResponse

from support.common import ACCOUNT_A, ACCOUNT_B, ACCOUNT_C, assumed_client, make_config
from polo.aws.access import AwsAccess
from polo.model import TaskResult
from polo.exporter import Exporter


def error_reply(code, status=400):
    """What AWS would answer; returned from a botocore before-call hook instead of calling out."""
    def handler(**_):
        return (AWSResponse("https://aws.invalid", status, {}, None),
                {"Error": {"Code": code, "Message": f"simulated {code}"},
                 "ResponseMetadata": {"HTTPStatusCode": status}})
    return handler


class RawBody:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def ec2_http_error(code, status):
    """An EC2 error on the wire, answered before moto sees the request, so botocore's own
    retry logic (adaptive mode) handles it exactly as it would a real throttle."""
    body = (f"<Response><Errors><Error><Code>{code}</Code><Message>simulated</Message></Error>"
            f"</Errors><RequestID>polo-test</RequestID></Response>").encode()

    def handler(request, **_):
        return AWSResponse(request.url, status, {}, RawBody(body))
    return handler


def make_exporter(config, base_session=None):
    access = AwsAccess(config.aws, home_region=config.regions[0], base_session=base_session)
    return Exporter(config, access, sources=())


def run_instances(account_id, count, region="us-east-1"):
    ec2 = assumed_client("ec2", account_id, region)
    image = ec2.register_image(Name="base", RootDeviceName="/dev/xvda",
                               BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])
    return [i["InstanceId"] for i in ec2.run_instances(ImageId=image["ImageId"], MinCount=count,
                                                       MaxCount=count)["Instances"]]


def resource_ids(snapshot, account_id, resource_type="ec2_instance"):
    return {r.resource_id for r in snapshot.resources
            if r.account_id == account_id and r.resource_type == resource_type}


def test_each_account_sees_only_its_own_resources(moto):
    a_ids, b_ids = set(run_instances(ACCOUNT_A, 2)), set(run_instances(ACCOUNT_B, 3))
    config = make_config(collectors=["ec2_instances", "ebs_volumes"])
    snapshot = make_exporter(config).sweep_once()
    assert resource_ids(snapshot, ACCOUNT_A) == a_ids
    assert resource_ids(snapshot, ACCOUNT_B) == b_ids
    assert all(status.ok for status in snapshot.tasks.values())
    assert snapshot.accounts_up == {ACCOUNT_A: True, ACCOUNT_B: True}


def test_denied_account_fails_alone_and_keeps_others(moto):
    run_instances(ACCOUNT_A, 1)
    run_instances(ACCOUNT_C, 1)
    base = boto3.Session()
    denied_arn = f"arn:aws:iam::{ACCOUNT_B}:role/PoloReadOnly"

    def deny_b(params, **kwargs):  # params is the serialised request; STS sends a form body
        if params["body"].get("RoleArn") == denied_arn:
            return error_reply("AccessDenied", 403)()
        return None

    base.events.register("before-call.sts.AssumeRole", deny_b)
    config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B, ACCOUNT_C), collectors=["ec2_instances", "s3_buckets"])
    exporter = make_exporter(config, base_session=base)
    snapshot = exporter.sweep_once()

    assert snapshot.accounts_up == {ACCOUNT_A: True, ACCOUNT_B: False, ACCOUNT_C: True}
    failed = {(t.account_id, t.collector): s.error for t, s in snapshot.tasks.items() if not s.ok}
    assert failed == {(ACCOUNT_B, "ec2_instances"): "AccessDenied", (ACCOUNT_B, "s3_buckets"): "AccessDenied"}
    assert len(resource_ids(snapshot, ACCOUNT_A)) == 1 and len(resource_ids(snapshot, ACCOUNT_C)) == 1
    assume_calls = exporter.access.stats.calls[("base", "sts", "AssumeRole")]
    assert assume_calls <= 3 + config.sweep.per_region_workers  # a denied account is not retried per task

    text = exporter.payload.plain.decode()
    assert f'polo_account_up{{account_id="{ACCOUNT_B}",account="acct1",environment="dev"}} 0' in text
    assert ('polo_collector_error_info{account_id="%s",account="acct1",environment="dev",region="us-east-1",'
            'collector="ec2_instances",error="AccessDenied"} 1' % ACCOUNT_B) in text


def test_throttled_collector_keeps_last_state_and_is_visible(moto):
    ids = set(run_instances(ACCOUNT_A, 2))
    run_instances(ACCOUNT_B, 1)
    config = make_config(collectors=["ec2_instances"], aws={"max_attempts": 2})
    exporter = make_exporter(config)
    exporter.sweep_once()

    account_a = config.account(ACCOUNT_A)
    exporter.access.client(account_a, "ec2", "us-east-1").meta.events.register_first(
        "before-send.ec2.DescribeInstances", ec2_http_error("RequestLimitExceeded", 503))
    assumed_client("ec2", ACCOUNT_A).terminate_instances(InstanceIds=sorted(ids)[:1])
    snapshot = exporter.sweep_once()

    assert resource_ids(snapshot, ACCOUNT_A) == ids  # last known state, nothing tombstoned
    assert snapshot.tombstones == ()
    assert len(resource_ids(snapshot, ACCOUNT_B)) == 1
    api_errors = exporter.access.stats.errors
    assert api_errors[(ACCOUNT_A, "ec2", "DescribeInstances", "RequestLimitExceeded")] == 2  # every attempt counted
    text = exporter.payload.plain.decode()
    assert 'collector="ec2_instances"} 0' in text
    assert ('polo_aws_api_errors_total{account_id="%s",service="ec2",operation="DescribeInstances",'
            'error_code="RequestLimitExceeded"} 2' % ACCOUNT_A) in text


def test_malformed_reply_fails_only_that_collector(moto):
    run_instances(ACCOUNT_A, 1)
    config = make_config(accounts=(ACCOUNT_A,), collectors=["ec2_instances", "vpcs"])
    exporter = make_exporter(config)

    def garbage(**_):
        return (AWSResponse("https://aws.invalid", 200, {}, None),
                {"Reservations": [{"Instances": [{"State": {}}]}]})  # no InstanceId

    exporter.access.session(config.account(ACCOUNT_A)).events.register(
        "before-call.ec2.DescribeInstances", garbage)
    snapshot = exporter.sweep_once()
    status = {t.collector: s for t, s in snapshot.tasks.items()}
    assert not status["ec2_instances"].ok and status["ec2_instances"].error == "KeyError"
    assert status["vpcs"].ok


def test_terminated_resource_is_tombstoned(moto):
    ec2 = assumed_client("ec2", ACCOUNT_A)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"])
    exporter = make_exporter(config)
    exporter.sweep_once()
    ec2.delete_vpc(VpcId=vpc)
    snapshot = exporter.sweep_once()
    assert [t.resource.resource_id for t in snapshot.tombstones] == [vpc]
    assert f'polo_resource_deleted_timestamp_seconds{{account_id="{ACCOUNT_A}"' in exporter.payload.plain.decode()


REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
REGIONAL = ["vpcs", "ebs_volumes", "ec2_instances", "elastic_ips"]


def test_no_account_region_exceeds_its_cap_and_regions_run_side_by_side(moto):
    import threading
    import time
    from collections import Counter

    config = make_config(regions=REGIONS, collectors=REGIONAL,
                         sweep={"workers": 16, "per_region_workers": 2})
    sweeper = make_exporter(config).sweeper
    active, peak, per_account_peak, lock = Counter(), Counter(), Counter(), threading.Lock()
    guarded = sweeper._run_task

    def counted(task):
        key = (task.account_id, task.region)
        with lock:
            active[key] += 1
            peak[key] = max(peak[key], active[key])
            in_account = sum(n for (account, _), n in active.items() if account == task.account_id)
            per_account_peak[task.account_id] = max(per_account_peak[task.account_id], in_account)
        time.sleep(0.05)
        try:
            return guarded(task)
        finally:
            with lock:
                active[key] -= 1

    sweeper._run_task = counted
    outcome = sweeper.run()
    assert len(outcome.results) == 2 * 3 * 4 and all(not r.error for r in outcome.results)
    assert peak == {(account, region): 2 for account in (ACCOUNT_A, ACCOUNT_B) for region in REGIONS}
    assert min(per_account_peak.values()) > 2  # the cap is per region, not per account


def test_a_hung_region_leaves_the_accounts_other_regions_their_slots(moto):
    import threading

    config = make_config(accounts=(ACCOUNT_A,), regions=REGIONS[:2], collectors=REGIONAL,
                         sweep={"workers": 8, "per_region_workers": 2})
    sweeper = make_exporter(config).sweeper
    release, west_done, lock = threading.Event(), [], threading.Lock()

    def hang_in_us_east_1(task):
        if task.region == "us-east-1":
            release.wait(30)  # a throttled region: calls that do not come back
        else:
            with lock:
                west_done.append(task.collector)
                if len(west_done) == len(REGIONAL):
                    release.set()
        return TaskResult(task, (), 0.0)

    sweeper._run_task = hang_in_us_east_1
    runner = threading.Thread(target=sweeper.run, daemon=True)
    runner.start()
    released_by_west = release.wait(10)
    with lock:
        ran_while_hung = sorted(west_done)
    release.set()
    runner.join(timeout=30)
    assert released_by_west, f"us-west-2 ran only {ran_while_hung} while us-east-1 hung"
    assert not runner.is_alive()


def test_assumed_credentials_are_cached_and_refreshed_before_expiry(moto):
    import datetime as dt

    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"])
    exporter = make_exporter(config)
    exporter.sweep_once()
    exporter.sweep_once()
    assume = ("base", "sts", "AssumeRole")
    assert exporter.access.stats.calls[assume] == 1  # cached across sweeps

    credentials = exporter.access.session(config.account(ACCOUNT_A)).get_credentials()
    credentials._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    exporter.sweep_once()  # inside botocore's refresh margin: a new AssumeRole first
    assert exporter.access.stats.calls[assume] == 2
    assert all(s.ok for s in exporter.snapshot.tasks.values())


def test_a_task_that_raises_past_its_guard_fails_alone_instead_of_hanging_the_sweep(moto):
    import threading

    config = make_config(collectors=["vpcs"])
    sweeper = make_exporter(config).sweeper
    guarded = sweeper._run_task

    def escapes(task):
        if task.account_id == ACCOUNT_B:
            raise RuntimeError("a bug outside the task's own try")
        return guarded(task)

    sweeper._run_task = escapes
    outcome = []
    runner = threading.Thread(target=lambda: outcome.append(sweeper.run()), daemon=True)
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive(), "the sweep hung on a failed done-callback"
    errors = {r.task.account_id: r.error for r in outcome[0].results}
    assert errors == {ACCOUNT_A: "", ACCOUNT_B: "RuntimeError"}


def test_cancel_ends_a_sweep_stuck_on_a_hung_call(moto):
    import threading
    import time

    from polo.sweep import SweepCancelled

    config = make_config(collectors=["vpcs"])
    sweeper = make_exporter(config).sweeper
    release = threading.Event()
    sweeper._run_task = lambda task: release.wait(60)  # every call hangs
    outcome = []

    def run():
        try:
            sweeper.run()
        except SweepCancelled as exc:
            outcome.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    time.sleep(0.2)
    sweeper.cancel()
    runner.join(timeout=10)
    release.set()
    assert not runner.is_alive() and outcome


def test_credentials_come_from_botocores_own_assume_role_fetcher(moto):
    from botocore.credentials import DeferredRefreshableCredentials

    config = make_config(accounts=(ACCOUNT_A,), collectors=["vpcs"], aws={"external_id": "x-1"})
    exporter = make_exporter(config)
    credentials = exporter.access.session(config.account(ACCOUNT_A)).get_credentials()
    assert isinstance(credentials, DeferredRefreshableCredentials)
    assert credentials.method == "polo-assume-role" and credentials.get_frozen_credentials().token


def test_clients_of_a_service_share_their_methods_and_keep_their_own_credentials(moto):
    """botocore builds every client's methods afresh (about 1 MB per EC2 client, one per account
    and region); Polo's clients of one service share the first one's, and still call AWS as
    their own account."""
    config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B), regions=("us-east-1", "eu-west-1"))
    access = AwsAccess(config.aws, home_region="us-east-1")
    clients = [access.client(config.account(account), "ec2", region)
               for account in (ACCOUNT_A, ACCOUNT_B) for region in ("us-east-1", "eu-west-1")]
    assert len({type(client) for client in clients}) == 4  # each its own class and meta
    assert len({type(client).describe_volumes for client in clients}) == 1
    run_instances(ACCOUNT_B, 1, "eu-west-1")
    found = [len(client.describe_instances()["Reservations"]) for client in clients]
    assert found == [0, 0, 0, 1]


def test_clients_of_a_service_share_their_operation_models(moto):
    """botocore gives each client a ServiceModel whose cache fills with operation models and
    reply shapes (hundreds of kB per client); Polo's clients of one service read one cache."""
    config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B), regions=("us-east-1", "eu-west-1"))
    access = AwsAccess(config.aws, home_region="us-east-1")
    ec2 = [access.client(config.account(account), "ec2", region)
           for account in (ACCOUNT_A, ACCOUNT_B) for region in ("us-east-1", "eu-west-1")]
    for client in ec2:
        client.describe_volumes()
    operations = {id(client.meta.service_model.operation_model("DescribeVolumes")) for client in ec2}
    replies = {id(client.meta.service_model.operation_model("DescribeVolumes").output_shape) for client in ec2}
    assert len(operations) == 1 and len(replies) == 1
    s3 = access.client(config.account(ACCOUNT_A), "s3", "us-east-1")
    assert s3.meta.service_model.operation_model("ListBuckets").name == "ListBuckets"


def test_clients_share_their_event_names(moto):
    """botocore's emitters rewrite each event name through a table of renamed events on first
    use, and each client has an emitter of its own: a millisecond of CPU for a client's first
    call. Polo's clients, of any service and account, share what was worked out."""
    config = make_config(accounts=(ACCOUNT_A, ACCOUNT_B), regions=("us-east-1",))
    access = AwsAccess(config.aws, home_region="us-east-1")
    ec2 = access.client(config.account(ACCOUNT_A), "ec2", "us-east-1")
    ec2.describe_volumes()
    other = access.client(config.account(ACCOUNT_B), "elbv2", "us-east-1")
    assert other.meta.events._alias_name_cache is ec2.meta.events._alias_name_cache
    assert "before-call.ec2.DescribeVolumes" in other.meta.events._alias_name_cache


def test_reply_timestamps_are_read_without_dateutil(moto, monkeypatch):
    """botocore reads every timestamp with dateutil, a large part of parsing a big Describe
    reply; Polo's clients read AWS's ISO 8601 ones with the standard library."""
    import datetime as dt

    import dateutil.parser

    config = make_config(accounts=(ACCOUNT_A,), regions=("us-east-1",))
    run_instances(ACCOUNT_A, 1)
    ec2 = AwsAccess(config.aws, home_region="us-east-1").client(config.account(ACCOUNT_A), "ec2", "us-east-1")

    def no_dateutil(*args, **kwargs):
        raise AssertionError("dateutil read a timestamp")

    monkeypatch.setattr(dateutil.parser, "parse", no_dateutil)
    launched = ec2.describe_instances()["Reservations"][0]["Instances"][0]["LaunchTime"]
    assert isinstance(launched, dt.datetime) and launched.utcoffset() == dt.timedelta(0)


def test_a_large_estate_keeps_clients_only_for_the_account_regions_being_swept(moto):
    """Clients cost memory per account, region and service; beyond sweep.kept_client_regions
    they live for their account-region's turn only, and at most workers / per_region_workers
    account-regions are swept at a time, so the clients alive follow the pool, not the estate."""
    import threading

    run_instances(ACCOUNT_B, 1, "eu-west-1")
    config = make_config(regions=REGIONS, collectors=["ec2_instances", "ebs_volumes", "s3_buckets"],
                         sweep={"workers": 4, "per_region_workers": 2, "kept_client_regions": 5})
    exporter = make_exporter(config)
    sweeper, lock = exporter.sweeper, threading.Lock()
    clients_alive = []
    guarded = sweeper._run_task

    def observed(task):
        with lock:
            keys = {(key[0], key[3]) for key in exporter.access._clients}
            clients_alive.append(len(keys))
        return guarded(task)

    sweeper._run_task = observed
    snapshot = exporter.sweep_once()
    assert all(status.ok for status in snapshot.tasks.values())
    assert len(resource_ids(snapshot, ACCOUNT_B)) == 1
    # 2 accounts x 3 regions = 6 > 5: clients made per turn and all dropped after the sweep
    assert exporter.access._clients == {}
    assert max(clients_alive) <= 2 + 1  # two account-regions at a time, plus the S3 task's home region

    kept = make_exporter(replace(config, sweep=replace(config.sweep, kept_client_regions=6)))
    kept.sweep_once()
    assert {(key[0], key[3]) for key in kept.access._clients} == {
        (account, region) for account in (ACCOUNT_A, ACCOUNT_B) for region in REGIONS}


def test_the_longest_tasks_start_first_by_declared_chain_then_by_the_time_they_took(moto):
    """A long chain of calls started last is the sweep's tail: on a small estate the load
    balancers' four calls in a row, started after the other collectors, were a third of it."""
    import time

    from polo.collectors import COLLECTORS
    from polo.sweep import Sweeper

    started = []

    def taking(name, seconds, chain):
        def collect(ctx):
            started.append(name)
            time.sleep(seconds)
            return ()
        return replace(COLLECTORS[name], collect=collect, chain=chain)

    config = make_config(accounts=(ACCOUNT_A,), regions=["us-east-1"], collectors=["vpcs", "subnets", "elastic_ips"],
                         sweep={"workers": 1, "per_region_workers": 1})
    types = {"vpcs": taking("vpcs", 0.2, 1), "subnets": taking("subnets", 0, 1),
             "elastic_ips": taking("elastic_ips", 0.05, 2)}
    sweeper = Sweeper(config, AwsAccess(config.aws, home_region="us-east-1"), types)
    sweeper.access.session(config.accounts[0])  # the role assumed before: no task's time includes it
    sweeper.run()
    assert started == ["elastic_ips", "vpcs", "subnets"]  # the declared chain; config order otherwise
    started.clear()
    sweeper.run()
    assert started == ["vpcs", "elastic_ips", "subnets"]  # what each took the sweep before

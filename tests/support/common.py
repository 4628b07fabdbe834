"""The tests' shared helpers (accounts, config, simulated AWS, ports, binaries)."""
import os
import shutil
import socket

import pytest

from polo.config import parse_config

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
ACCOUNT_C = "333333333333"


def use_fake_aws(patch: pytest.MonkeyPatch, region: str = "us-east-1") -> None:
    """Fake credentials for moto; never a real profile, never MOTO_ACCOUNT_ID."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": region,
                        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():
        patch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        patch.delenv(name, raising=False)


def make_config(accounts=(ACCOUNT_A, ACCOUNT_B), regions=("us-east-1",), **extra):
    data = {"accounts": [{"id": a, "name": f"acct{n}", "environment": "prod" if n == 0 else "dev"}
                         for n, a in enumerate(accounts)],
            "regions": list(regions)}
    data.update(extra)
    return parse_config(data, "test.yml")


def assumed_client(service, account_id, region="us-east-1"):
    """A boto3 client acting inside `account_id` of the simulated AWS."""
    import boto3

    creds = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/PoloReadOnly", RoleSessionName="test-setup")["Credentials"]
    return boto3.client(service, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def require_binary(name: str) -> str:
    """Path of a real binary (promtool, prometheus); skipped locally if absent, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (Debian package prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

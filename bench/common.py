"""What every part of the benchmark shares: the regions an estate spans and a description of
the machine a run was made on."""
from __future__ import annotations

import os
import platform
from importlib import metadata

REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "eu-central-1", "ap-northeast-1",
           "us-east-2", "ca-central-1")


def region_names(count: int) -> tuple[str, ...]:
    if not 1 <= count <= len(REGIONS):
        raise SystemExit(f"--regions must be 1..{len(REGIONS)}")
    return REGIONS[:count]


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("boto3", "botocore", "moto", "prometheus-client"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    return {"nproc": os.cpu_count(), "cpu": model, "memory": memory, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}

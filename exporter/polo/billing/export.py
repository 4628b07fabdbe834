"""The billing export in S3, at the edge: list its billing periods, read a manifest, and fold
the Parquet files a manifest lists into PeriodTotals, one row group at a time and only the
columns needed. Layout (AWS Data Exports):
  <prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json
  <prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/*.parquet (the manifest's dataFiles)
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from polo.billing.schema import BY_NAME, Format, SchemaError, normalise
from polo.billing.totals import PeriodTotals
from polo.errors import CodedError, error_code

MANIFEST = re.compile(r"(?:^|/)metadata/BILLING_PERIOD=(\d{4}-\d{2})/(?P<name>[^/]+)-Manifest\.json$")
S3_URI = re.compile(r"^s3://([^/]+)/(.+)$")
COPY_CHUNK = 1 << 20
BATCH_ROWS = 65_536


@dataclass(frozen=True)
class ManifestObject:
    period: str          # 'YYYY-MM'
    key: str
    fingerprint: str     # ETag and LastModified: AWS rewrites the manifest at every refresh
    delivered: float     # its LastModified


def export_root(prefix: str, name: str) -> str:
    """The export's folder in the bucket: '<prefix>/<name>/', or '<name>/' without a prefix."""
    prefix = prefix.strip("/")
    return f"{prefix}/{name}/" if prefix else f"{name}/"


class ExportProblem(CodedError):
    """A period that cannot be read whole: the reason is a metric label."""


class ReadStopped(Exception):
    """The program is stopping: the period's fold was abandoned between two slices."""


class ReadCounter:
    """What reading the export cost: data files, bytes and rows read."""

    def __init__(self):
        self._lock = threading.Lock()
        self.files = self.bytes = self.rows = self.manifests = 0

    def add(self, files: int = 0, size: int = 0, rows: int = 0, manifests: int = 0) -> None:
        with self._lock:
            self.files += files
            self.bytes += size
            self.rows += rows
            self.manifests += manifests


class BillingExport:
    """One export's objects, read with `client` (an S3 client allowed to read the bucket)."""

    def __init__(self, client: Any, bucket: str, prefix: str, name: str, fmt: str, scratch_dir: str,
                 counter: ReadCounter, stopped: threading.Event | None = None):
        self.client, self.bucket, self.name, self.format = client, bucket, name, BY_NAME[fmt]
        self.root = export_root(prefix, name)
        self.scratch_dir, self.counter, self.stopped = scratch_dir, counter, stopped

    def manifests(self) -> dict[str, ManifestObject]:
        """period -> its manifest; raises on any listing error (nothing is believed then)."""
        found: dict[str, ManifestObject] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self.root + "metadata/"):
            for item in page.get("Contents", []):
                match = MANIFEST.search(item["Key"])
                if match and match.group("name") == self.name:
                    modified = item["LastModified"].timestamp()
                    found[match.group(1)] = ManifestObject(match.group(1), item["Key"],
                                                           f"{item.get('ETag', '')}@{modified}", modified)
        return found

    def read_period(self, manifest: ManifestObject, tag_keys: tuple[str, ...],
                    cost_categories: tuple[str, ...]) -> PeriodTotals:
        """The whole period's totals, or ExportProblem: never a part of the period."""
        files = self._data_files(manifest)
        totals = PeriodTotals()
        for key in files:
            self._fold_file(key, totals, tag_keys, cost_categories)
        return totals.finish()

    def _data_files(self, manifest: ManifestObject) -> list[str]:
        body = self.client.get_object(Bucket=self.bucket, Key=manifest.key)["Body"].read()
        self.counter.add(manifests=1)
        try:
            raw = json.loads(body)
            uris = raw["dataFiles"]
            if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
                raise ValueError("dataFiles is not a list of strings")
        except (ValueError, KeyError, TypeError) as exc:
            raise ExportProblem("manifest", f"manifest {manifest.key} is malformed: {exc}") from exc
        keys = []
        for uri in uris:
            match = S3_URI.match(uri)
            if not match or match.group(1) != self.bucket:
                raise ExportProblem("manifest", f"manifest {manifest.key} lists {uri!r:.100}, not in {self.bucket}")
            keys.append(match.group(2))
        return keys

    def _fold_file(self, key: str, totals: PeriodTotals, tag_keys: tuple[str, ...],
                   cost_categories: tuple[str, ...]) -> None:
        """Download `key` to a scratch file (memory stays flat whatever its size), then fold it
        in row group by row group."""
        os.makedirs(self.scratch_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.scratch_dir, prefix=".billing-", suffix=".parquet") as scratch:
            try:  # one GetObject, streamed: s3:GetObject is all the policy needs
                shutil.copyfileobj(self.client.get_object(Bucket=self.bucket, Key=key)["Body"], scratch, COPY_CHUNK)
            except Exception as exc:
                if error_code(exc) == "NoSuchKey":
                    raise ExportProblem("missing_file", f"{key} is listed in the manifest but absent "
                                                        "(a delivery still under way?)") from exc
                raise
            scratch.flush()
            self.counter.add(files=1, size=scratch.tell())
            try:
                self.counter.add(rows=fold_parquet(scratch.name, self.format, totals, tag_keys, cost_categories,
                                                           self.stopped))
            except SchemaError as exc:
                raise ExportProblem("schema", f"{key}: {exc}") from exc
            except (pa.ArrowException, OSError) as exc:
                raise ExportProblem("corrupt_file", f"{key} is not a readable Parquet file: {exc}") from exc


def use_jemalloc() -> None:
    """Arrow's jemalloc pool, where the wheel has it: with the default (mimalloc) a month's
    fold peaked higher, its freed intermediate arrays held back from the system
    (docs/benchmarks.md). pyarrow is only ever used here, so the choice is process-wide."""
    if pa.default_memory_pool().backend_name != "jemalloc":
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:  # a build without jemalloc keeps its default
            pass


def fold_parquet(path: str, fmt: Format, totals: PeriodTotals, tag_keys: Sequence[str] = (),
                 cost_categories: Sequence[str] = (), stopped: threading.Event | None = None) -> int:
    """Fold one Parquet file into `totals`, only the columns `fmt` needs, a row group at a time
    and each in slices of BATCH_ROWS, so that the intermediate arrays stay small whatever the
    size of AWS's row groups; returns its rows. (bench/billing.py measures this.) Once `stopped`
    is set it raises ReadStopped at the next slice: a thread still inside pyarrow when the
    interpreter exits aborts the process."""
    use_jemalloc()
    parquet = pq.ParquetFile(path, pre_buffer=False)  # pre-buffered row groups stayed allocated
    columns = fmt.needed(parquet.schema_arrow.names, bool(tag_keys), bool(cost_categories))
    rows = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
        if stopped is not None and stopped.is_set():
            raise ReadStopped(path)
        totals.add(normalise(pa.Table.from_batches([batch]), fmt, tag_keys, cost_categories))
        rows += batch.num_rows
    return rows

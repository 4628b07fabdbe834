"""Prometheus text exposition (format 0.0.4), rendered once per sweep and served as bytes.

prometheus_client's generate_latest builds an object per sample on every scrape; an estate of
100,000 resources is several hundred thousand series, so Polo renders its own families once,
streams them into plain and gzip buffers together, and a scrape only copies bytes.
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from typing import Iterable

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_ESCAPES = str.maketrans({"\\": r"\\", '"': r"\"", "\n": r"\n"})


def escape(value: str) -> str:
    return value.translate(_ESCAPES)


def label_string(names: Iterable[str], values: Iterable[object]) -> str:
    """'a="1",b="x\\"y"' — the inside of a sample's braces, escaped once and reusable."""
    return ",".join(f'{n}="{escape(str(v))}"' for n, v in zip(names, values))


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass
class Family:
    """One metric family; samples are (label_string, value) so identity labels are escaped once."""

    name: str
    kind: str  # "gauge" or "counter"
    help: str
    samples: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self):
        if not METRIC_NAME.match(self.name) or self.kind not in ("gauge", "counter"):
            raise ValueError(f"bad metric family {self.name!r} ({self.kind})")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name}: only counters end in _total, and all of them do")

    def add(self, labels: str, value: float) -> None:
        self.samples.append((labels, value))

    def lines(self) -> Iterable[str]:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        yield f"# HELP {self.name} {help_text}\n"
        yield f"# TYPE {self.name} {self.kind}\n"
        name = self.name
        for labels, value in self.samples:
            yield f"{name}{{{labels}}} {format_value(value)}\n" if labels else f"{name} {format_value(value)}\n"


@dataclass(frozen=True)
class Payload:
    plain: bytes
    gzipped: bytes
    series: int


def render(families: Iterable[Family], chunk_lines: int = 4096) -> Payload:
    """Plain and gzip bodies in one pass, a few thousand lines at a time to bound memory."""
    plain = bytearray()
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    gzipped = bytearray()
    series = 0
    for family in families:
        if not family.samples:
            continue
        series += len(family.samples)
        buffer: list[str] = []
        for line in family.lines():
            buffer.append(line)
            if len(buffer) >= chunk_lines:
                chunk = "".join(buffer).encode()
                plain += chunk
                gzipped += compressor.compress(chunk)
                buffer.clear()
        chunk = "".join(buffer).encode()
        plain += chunk
        gzipped += compressor.compress(chunk)
    gzipped += compressor.flush()
    return Payload(bytes(plain), bytes(gzipped), series)

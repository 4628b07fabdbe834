"""Prometheus text exposition (format 0.0.4), rendered once per sweep and served as bytes.

prometheus_client's generate_latest builds an object per sample on every scrape; an estate of
100,000 resources is several hundred thousand series, so Polo renders its own families once,
streams them into a gzip buffer, and a scrape only copies bytes. Only the gzip body is kept:
at 100,000 resources the text is ~100 MB and its gzip ~8 MB, and Prometheus always asks for
gzip. A scraper that does not (curl) gets the text decompressed for it (~0.1 s at that size).
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping

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
    """One metric family; samples are (label_string, value) so identity labels are escaped once.

    A family of one series per resource may instead be *streamed*: `stream` is called at render
    time and its samples are never stored, so rendering 100,000 resources holds a few thousand
    lines at a time rather than every family's samples at once (docs/benchmarks.md, memory)."""

    name: str
    kind: str  # "gauge" or "counter"
    help: str
    samples: list[tuple[str, float]] = field(default_factory=list)
    stream: Callable[[], Iterable[tuple[str, float]]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not METRIC_NAME.match(self.name) or self.kind not in ("gauge", "counter"):
            raise ValueError(f"bad metric family {self.name!r} ({self.kind})")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name}: only counters end in _total, and all of them do")

    @classmethod
    def by_label(cls, name: str, kind: str, help: str, label: str, counts: Mapping[str, float]) -> "Family":
        """One series per value of `label`, in order: counters by reason, result, operation."""
        family = cls(name, kind, help)
        for value, n in sorted(counts.items()):
            family.add(label_string((label,), (value,)), n)
        return family

    def add(self, labels: str, value: float) -> None:
        self.samples.append((labels, value))

    def iter_samples(self) -> Iterable[tuple[str, float]]:
        return self.samples if self.stream is None else self.stream()

    def lines(self) -> Iterable[str]:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        yield f"# HELP {self.name} {help_text}\n"
        yield f"# TYPE {self.name} {self.kind}\n"
        name = self.name
        for labels, value in self.iter_samples():
            yield f"{name}{{{labels}}} {format_value(value)}\n" if labels else f"{name} {format_value(value)}\n"


@dataclass(frozen=True)
class Payload:
    gzipped: bytes
    series: int
    plain_size: int = 0  # bytes of the text

    def iter_plain(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The text, decompressed a piece at a time (about 1 MB of text per piece)."""
        inflater = zlib.decompressobj(31)
        data = memoryview(self.gzipped)
        for start in range(0, len(data), chunk_size):
            piece = inflater.decompress(data[start:start + chunk_size])
            if piece:
                yield piece
        rest = inflater.flush()
        if rest:
            yield rest

    @property
    def plain(self) -> bytes:
        """The whole text, decompressed on each access (it is not kept: see the module docstring)."""
        return b"".join(self.iter_plain())


def encode(lines: list[str]) -> bytes:
    """UTF-8; a character that has none (a lone surrogate, which Lambda accepts in tags)
    becomes '?', so bad text in AWS data spoils only itself, never the payload."""
    return "".join(lines).encode("utf-8", "replace")


def render(families: Iterable[Family], chunk_lines: int = 4096) -> Payload:
    """The gzip body in one pass, a few thousand lines at a time to bound memory. Families
    without samples are left out (a streamed one is known empty only once it streamed)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: gzip container
    gzipped = bytearray()
    series = plain_size = 0
    for family in families:
        lines = iter(family.lines())
        header: list[str] | None = [next(lines), next(lines)]  # HELP and TYPE
        buffer: list[str] = []
        for line in lines:
            if header:
                buffer, header = header, None
            buffer.append(line)
            series += 1
            if len(buffer) >= chunk_lines:
                chunk = encode(buffer)
                plain_size += len(chunk)
                gzipped += compressor.compress(chunk)
                buffer.clear()
        chunk = encode(buffer)
        plain_size += len(chunk)
        gzipped += compressor.compress(chunk)
    gzipped += compressor.flush()
    return Payload(bytes(gzipped), series, plain_size)

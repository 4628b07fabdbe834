"""A durable FIFO of notifications on disk: one JSON file per item, written with fsync and an
atomic rename (and the directory fsynced), so an item the relay acknowledged survives a crash,
and a restart resumes where the worker stopped."""
from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from polo.atomic import write_atomically

SUFFIX = ".json"


class DurableQueue:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        names = self._names()
        self._next = int(names[-1][:-len(SUFFIX)]) + 1 if names else 1

    def _names(self) -> list[str]:
        return sorted(n for n in os.listdir(self.directory) if n.endswith(SUFFIX) and n[:-len(SUFFIX)].isdigit())

    def put(self, item: dict[str, Any]) -> int:
        """Returns once the item is on disk (file and directory entry fsynced). Raises OSError."""
        with self._lock:
            seq = self._next
            write_atomically(self.directory / f"{seq:020d}{SUFFIX}", [json.dumps(item)])
            self._sync_directory()
            self._next += 1
            self._ready.notify_all()
            return seq

    def peek(self, timeout: float) -> tuple[int, dict[str, Any]] | None:
        """The oldest item, left in the queue until `remove`; None if none came within `timeout`."""
        with self._lock:
            names = self._names()
            if not names:
                self._ready.wait(timeout)
                names = self._names()
            if not names:
                return None
        name = names[0]
        seq = int(name[:-len(SUFFIX)])
        try:
            item = json.loads((self.directory / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            item = {"corrupt": name}  # never written by us half-way; dropped by the worker
        return seq, item

    def remove(self, seq: int) -> None:
        with self._lock:
            try:
                os.unlink(self.directory / f"{seq:020d}{SUFFIX}")
            except FileNotFoundError:
                pass

    def items(self) -> list[dict[str, Any]]:
        result = []
        for name in self._names():
            try:
                result.append(json.loads((self.directory / name).read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return result

    def depth(self) -> int:
        return len(self._names())

    def writable(self) -> tuple[bool, str]:
        """Whether a new item could be written now (a real write, not just permissions)."""
        try:
            with tempfile.TemporaryFile(dir=self.directory) as file:
                file.write(b"ok")
                file.flush()
            return True, "queue writable"
        except OSError as err:
            return False, f"queue directory not writable: {err.strerror}"

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

"""How polo-exporter and polo-slack-relay wait for their end: SIGTERM and SIGINT stop them,
SIGHUP (the exporter's) asks for a reload, and a deadline bounds the shutdown.

Signals arrive as bytes on a pipe (signal.set_wakeup_fd writes them from C) and are acted on
by the main thread in plain code: a Python handler that took a lock could interrupt itself and
wait forever. Explicit handlers also matter as PID 1 in a container, where SIGTERM is
otherwise ignored.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Callable

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SHUTDOWN_DEADLINE_SECONDS = 4.5  # after a stop signal the process exits, whatever is still running
_INTERRUPT = b"\0"  # no signal has number 0


def hold_reloads() -> threading.Event:
    """Called first thing in main: until Signals owns SIGHUP, a reload asked for while the
    program starts is remembered (SIGHUP's default action would kill the process)."""
    asked = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: asked.set())
    return asked


class Signals:
    """Owns the process's stop (and, given `reload`, SIGHUP) handlers until `restore`."""

    def __init__(self, reload: Callable[[], None] | None = None):
        self._reload = reload
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._previous_fd = signal.set_wakeup_fd(self._write)
        handled = STOP_SIGNALS + ((signal.SIGHUP,) if reload else ())
        self._previous = {signum: signal.signal(signum, lambda *_: None) for signum in handled}

    def wait(self) -> str:
        """Block until a stop signal (its name is returned) or `interrupt` (''). A burst of
        SIGHUPs read at once is one reload."""
        while True:
            received = os.read(self._read, 512)
            stop = [signal.Signals(signum).name for signum in received if signum in STOP_SIGNALS]
            if stop:
                return stop[0]
            if _INTERRUPT[0] in received:
                return ""
            if signal.SIGHUP in received and self._reload is not None:
                self._reload()

    def interrupt(self) -> None:
        """Wake `wait` from another thread (a failure that must end the program)."""
        os.write(self._write, _INTERRUPT)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(self._previous_fd)


def exit_after(seconds: float, code: int) -> threading.Timer:
    """Started at shutdown: ends the process with `code` if it is still running `seconds`
    later, whatever is still running (a call stuck in a socket read cannot be interrupted)."""
    watchdog = threading.Timer(seconds, exit_now, (code, "shutdown took too long"))
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def exit_now(code: int, why: str) -> None:
    log.info("%s", why)
    logging.shutdown()
    sys.stdout.flush()
    os._exit(code)

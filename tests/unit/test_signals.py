"""The program shell's signal handling that needs no process of its own."""
import os
import signal

from polo.web.signals import hold_reloads


def test_a_sighup_while_starting_is_remembered_not_fatal():
    """SIGHUP's default action ends the process: a reload asked for while the exporter loaded
    its config killed it (a drill sent one 0.3 s after start)."""
    previous = signal.getsignal(signal.SIGHUP)
    try:
        asked = hold_reloads()
        assert not asked.is_set()
        os.kill(os.getpid(), signal.SIGHUP)
        assert asked.wait(5)
    finally:
        signal.signal(signal.SIGHUP, previous)

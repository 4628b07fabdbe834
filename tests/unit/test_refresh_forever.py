"""The background refresh loop Cost Explorer and the billing export share."""
import logging
import threading

from polo.source import refresh_forever


def test_a_crashing_refresh_is_logged_and_the_refreshes_go_on(caplog):
    calls, published, stopped = [], threading.Event(), threading.Event()

    def refresh():
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("a bug")
        stopped.set()  # the second refresh ends the loop after its publish

    with caplog.at_level(logging.ERROR):
        refresh_forever("polo-test", refresh, published.set, lambda: 0.01, stopped)
        assert published.wait(5)
    assert calls == [0, 1]
    assert "polo-test: refresh crashed" in caplog.text

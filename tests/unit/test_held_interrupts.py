"""``held_interrupts``: a Ctrl-C while a run's searches are being queued (or cancelled) is
held until that is done, then acted on with their ids; the previous SIGINT handler comes
back. Before, a Ctrl-C that landed while the host was still answering the queueing ended
`rank run` with 130 and not a word."""

from __future__ import annotations

import signal
import threading

import pytest

from entrypoints.cli.search_wait import held_interrupts


def _mark(_signum: int, _frame: object) -> None:
    raise AssertionError("the previous handler ran")


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers are set in the main thread only")
def test_a_ctrl_c_inside_is_held_and_reported_and_the_old_handler_comes_back() -> None:
    before = signal.signal(signal.SIGINT, _mark)
    try:
        finished = False
        with held_interrupts() as caught:
            signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt here, no _mark
            finished = True
        assert finished and caught == [signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is _mark
        with held_interrupts() as quiet:
            pass
        assert quiet == []
    finally:
        signal.signal(signal.SIGINT, before)


def test_outside_the_main_thread_it_holds_nothing_and_sets_no_handler() -> None:
    seen: list[object] = []

    def run() -> None:
        with held_interrupts() as caught:
            seen.append(caught)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert seen == [[]]

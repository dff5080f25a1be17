"""A stop set from a signal handler never deadlocks the thread it interrupts (a
``threading.Event`` does: its ``set`` takes the lock its ``wait`` holds)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from mediastack.supervisor.runtime.signal_stop import SignalStop

# A tight wait loop: a SIGTERM lands inside ``wait`` nearly every time (with
# ``threading.Event`` in place of SignalStop, 3 of 5 such children never exit).
_CHILD = """
import signal
from mediastack.supervisor.runtime.signal_stop import SignalStop
stop = SignalStop()
stop.handle([signal.SIGTERM])
print("ready", flush=True)
while not stop.wait(0):
    pass
print("stopped by", stop.reason, flush=True)
"""


def test_sigterm_during_a_tight_wait_loop_ends_it_every_time() -> None:
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
        for _ in range(5)
    ]
    outputs = []
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            output, _ = child.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            output = "(hung)"
        outputs.append(output)
    assert outputs == ["stopped by SIGTERM\n"] * 5


def test_a_wait_returns_once_set_from_another_thread_and_says_why() -> None:
    stop = SignalStop()
    assert stop.wait(0) is False and stop.reason is None
    threading.Timer(0.05, stop.set, args=("SIGINT",)).start()
    assert stop.wait(30) is True
    assert stop.reason == "SIGINT"
    stop.set("SIGTERM")  # a second signal keeps the first reason
    assert stop.reason == "SIGINT"


def test_forward_delivers_the_reason_from_a_thread_of_its_own() -> None:
    stop = SignalStop()
    delivered: list[tuple[str, str]] = []
    thread = stop.forward(
        lambda reason: delivered.append((reason, threading.current_thread().name))
    )
    stop.set("SIGTERM")
    thread.join(timeout=10)
    assert delivered == [("SIGTERM", "signal-stop")]

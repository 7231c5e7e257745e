"""How ``make run`` stops on SIGINT or SIGTERM: the handler raises :class:`Stopped` in the
main thread, which unwinds what was started in reverse order; a second signal exits at once.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Stopped(BaseException):
    """SIGINT or SIGTERM: leave the wait and stop everything in order. Not an Exception, as
    KeyboardInterrupt is not: library code that catches Exception where the signal lands
    (botocore building a client) must not swallow it."""


# The signals received, so the final wait ends even if a raise was swallowed. A list, not a
# threading.Event: a handler must not take a lock the interrupted code may hold.
requested: list[str] = []
_deferring = False
_deferred: list[str] = []


def install() -> None:
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)


def on_signal(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _deferring:
        _deferred.append(name)
        return
    # A second signal while stopping means "now": skip the orderly shutdown.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    signal.signal(signal.SIGTERM, lambda *_: os._exit(143))
    requested.append(name)
    raise Stopped(name)


def wait_for_stop() -> None:
    """Until a signal raises Stopped (sleep is interrupted by it), or has asked for it."""
    while not requested:
        time.sleep(0.5)
    raise Stopped(requested[0])


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold a signal until what is being started has registered how to stop it.

    Not a blocked signal mask: children (DynamoDB Local) would inherit it and ignore
    the SIGTERM that stops them.
    """
    global _deferring
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
    if _deferred:
        on_signal(signal.Signals[_deferred[0]], None)

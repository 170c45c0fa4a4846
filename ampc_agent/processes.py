"""Ending long runs cleanly: stop at a safe point on Ctrl-C or SIGTERM, and child
processes that end with their parent.

A tuning run or a sweep stops between two episodes (two trials) when asked, so that
everything it ran is recorded and a rerun resumes; a worker process or a server it
started never outlives it, even when the parent is killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType

__all__ = ["GracefulStop", "child_preexec", "die_with_parent"]

_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class GracefulStop:
    """Within the block, SIGINT and SIGTERM ask the run to stop at its next safe point.

    The first signal sets :attr:`signum` and prints ``message`` on stderr; a second one
    raises ``KeyboardInterrupt`` at once (the user insists). The previous handlers are
    back after the block. Outside the main thread (where Python cannot handle signals)
    it does nothing.

    Args:
        message: What the first signal prints (what happens next, how to stop now).
        notify: Prints it (default: a line on stderr); a progress bar's ``write``
            keeps the bar intact.

    Example:
        >>> with GracefulStop("stopping after this episode") as stop:
        ...     while not stop.requested:
        ...         run_one_episode()
        >>> raise SystemExit(stop.exit_code)
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, message: str, notify: Callable[[str], None] | None = None) -> None:
        self.message = message
        self.notify = notify or (lambda text: print(text, file=sys.stderr, flush=True))
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """A stop was asked for."""
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """``128 + signal number`` (130 for SIGINT, 143 for SIGTERM), or 0."""
        return 0 if self.signum is None else 128 + self.signum

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        self.notify(self.message)

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()


def die_with_parent(parent: int, ignore_interrupt: bool = True) -> None:
    """Make the calling (child) process end when process ``parent`` ends.

    On Linux the kernel sends SIGKILL when the parent dies (``prctl``
    ``PR_SET_PDEATHSIG``, kept across ``exec``); elsewhere a daemon thread polls the
    parent. Meant as the initializer of worker processes and before a server's
    ``exec``.

    Args:
        parent: PID of the parent (checked, in case it died before this call).
        ignore_interrupt: Ignore SIGINT: Ctrl-C in a terminal reaches the whole
            process group, and the parent decides what stops.
    """
    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_death_signal = child_preexec()
    if set_death_signal is not None:
        set_death_signal()
    else:  # pragma: no cover - macOS has no parent-death signal

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def child_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets SIGKILL when its parent
    dies (Linux; ``None`` elsewhere).

    The C function is looked up here, in the parent: between ``fork`` and ``exec`` the
    child only calls it (no import, no ``dlopen``, which could deadlock there).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return set_death_signal

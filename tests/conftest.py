import matplotlib

matplotlib.use("Agg")

import signal  # noqa: E402

import pytest  # noqa: E402

#: The termination signals pharmsim's output folders handle (pharmsim.output._SIGNALS)
_TERMINATION = tuple(getattr(signal, s) for s in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, s))


def default_signals() -> None:
    """``preexec_fn`` for children that a test signals: the default dispositions. A launcher may have left SIGINT and
    SIGQUIT ignored (a non-interactive shell's ``cmd &`` does), and an ignored signal is inherited; pharmsim then
    rightly leaves it ignored, which is not what these tests are about."""
    for s in _TERMINATION:
        signal.signal(s, signal.SIG_DFL)


@pytest.fixture
def default_signal_handlers():
    """In this process, for one test: SIGINT to Python's KeyboardInterrupt handler and the other termination signals
    to their defaults where they were ignored (see :func:`default_signals`); restored afterwards."""
    before = {s: signal.getsignal(s) for s in _TERMINATION}
    for s, h in before.items():
        if h is signal.SIG_IGN:
            signal.signal(s, signal.default_int_handler if s == signal.SIGINT else signal.SIG_DFL)
    yield
    for s, h in before.items():
        if h is not None:
            signal.signal(s, h)

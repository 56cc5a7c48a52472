"""Entry point of the desktop app: ``kidneytalk-gui``, ``kidneytalk gui`` and ``kidneytalk start``.

Builds the ``QApplication``, the crash reporter, the :class:`Engine` (cheap: its
models load later, in the worker thread) and the main window; on exit stops
the worker thread and closes the engine.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import cast

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from kidneytalk import __version__
from kidneytalk.config import Paths, Settings
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError

from .dialogs import install_crash_reporter
from .fonts import ensure_cjk_font
from .i18n import set_language
from .main_window import MainWindow
from .single_instance import SingleInstance

# Smoke tests of the bundles: "1" prints when the main window is shown and its event loop
# runs ("kidneytalk-gui: window shown at <unix time>"), then closes the window.
ENV_EXIT_WHEN_SHOWN = "KIDNEYTALK_EXIT_WHEN_SHOWN"


def _parse(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """``--home DIR`` for KidneyTalk; everything else is left for Qt (e.g. ``-platform``)."""
    parser = argparse.ArgumentParser(prog="kidneytalk-gui", add_help=False)
    parser.add_argument("--home")
    opts, rest = parser.parse_known_args(list(argv[1:]))
    return opts.home, [argv[0] if argv else "kidneytalk-gui", *rest]


def main(home: str | None = None, argv: Sequence[str] | None = None) -> int:
    """Run the desktop app until its window closes; returns the exit code.

    Args:
        home: keep config, data and logs under this folder (default: ``--home`` in
            ``argv``, then ``$KIDNEYTALK_HOME``, then the platform folders).
        argv: command line like ``sys.argv`` (program name first); defaults to ``sys.argv``.
    """
    arg_home, qt_argv = _parse(list(sys.argv if argv is None else argv))
    home = home or arg_home
    # instance() is typed QCoreApplication; the only one that can exist here is a QApplication (tests' qapp)
    app = cast("QApplication | None", QApplication.instance()) or QApplication(qt_argv)
    app.setApplicationName("KidneyTalk")
    app.setApplicationDisplayName("KidneyTalk")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("KidneyTalk")

    paths = Paths.resolve(home)
    guard = SingleInstance(paths.data)
    if not guard.claim():
        _say_already_open(app, paths)
        return 0
    try:
        engine = Engine(home)
    except KidneyTalkError as exc:
        QMessageBox.critical(None, "KidneyTalk cannot start", str(exc))
        return 1
    except Exception as exc:  # no log file yet: say it in a dialog and on stderr
        traceback.print_exc()
        QMessageBox.critical(
            None, "KidneyTalk cannot start", f"Unexpected error: {type(exc).__name__}: {exc}"
        )
        return 1

    window: MainWindow | None = None
    reporter = install_crash_reporter(engine.log_path, lambda: window)
    previous_sigint = signal.getsignal(signal.SIGINT)
    # Ctrl+C in the terminal closes the window properly; the timer lets Python see the signal.
    signal.signal(signal.SIGINT, lambda *_: window.close() if window is not None else app.quit())
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(300)
    try:
        ensure_cjk_font()  # Chinese drawn even on a desktop without a CJK font (the bundle has one)
        window = MainWindow(engine)
        guard.activated.connect(window.bring_to_front)
        window.show()
        window.warm_up()
        if os.environ.get(ENV_EXIT_WHEN_SHOWN) == "1":
            QTimer.singleShot(0, lambda: _report_shown_and_close(window))
        code = app.exec()
    finally:
        tick.stop()
        signal.signal(signal.SIGINT, previous_sigint)
        ended = window.shutdown() if window is not None else True
        if ended:
            engine.close()
        reporter.uninstall()
        guard.release()
    return int(code)


def _say_already_open(app: QApplication, paths: Paths) -> None:
    """A second launch on the same library: the first window was asked to come to the front."""
    set_language(Settings.load(paths).language)
    text = QApplication.translate(
        "SingleInstance",
        "KidneyTalk is already open on this library (%1); its window has been brought to the front.",
    ).replace("%1", str(paths.data))
    print(f"kidneytalk-gui: {text}", file=sys.stderr)
    if app.platformName() not in ("offscreen", "minimal"):
        QMessageBox.information(None, "KidneyTalk", text)


def _report_shown_and_close(window: MainWindow | None) -> None:
    visible = window is not None and window.isVisible()
    print(
        f"kidneytalk-gui: window {'shown' if visible else 'NOT shown'} at {time.time():.3f}",
        flush=True,
    )
    if window is not None:
        window.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

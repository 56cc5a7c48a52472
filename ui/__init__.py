"""KidneyTalk desktop app (PySide6): a thin view over :class:`kidneytalk.engine.Engine`.

Start it with :func:`kidneytalk.ui.app.main` (``kidneytalk-gui`` or ``kidneytalk gui``).
Widgets never call the engine: :mod:`kidneytalk.ui.workers` runs every engine
call in one worker thread and reports back with Qt signals.
"""

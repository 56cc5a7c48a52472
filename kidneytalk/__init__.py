"""KidneyTalk: a private, fully offline medical knowledge assistant.

The core package never imports Qt; the desktop app lives in ``kidneytalk.ui``.
"""

from kidneytalk import _offline  # noqa: F401  (must run before any model library import)

__version__ = "0.1.0"

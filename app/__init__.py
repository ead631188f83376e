"""Dispatcher workstation core: everything except the Qt views.

Nothing under ``app`` may import PySide6; ``tests/unit/test_layering.py`` checks it.
"""

__version__ = "0.1.0"

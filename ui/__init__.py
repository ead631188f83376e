"""The dispatcher workstation's Qt views (PySide6).

Importing this package does not import Qt: ``ui.main`` keeps ``--check-config``
free of it, and each module imports PySide6 itself.
"""

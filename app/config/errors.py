"""The one exception the configuration loaders raise."""

from __future__ import annotations

ROOT_PATH = "<root>"


class ConfigError(Exception):
    """A problem in a configuration file, located by file, line, column and key path.

    ``line`` and ``column`` are 1-based. ``path`` is the key path of the offending
    value from the top of the document, e.g. ``line.routes[3].switches[0].switch``
    (list indices are 0-based); problems with the document as a whole use ``<root>``.
    """

    def __init__(self, file: str, line: int, column: int, path: str, message: str) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.path = path or ROOT_PATH
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {self.message}"

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, int, int, str, str]]:
        return (ConfigError, (self.file, self.line, self.column, self.path, self.message))

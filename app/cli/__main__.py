"""``python -m app.cli``: ``dispatcher-cli`` (the package's ``main``)."""

from __future__ import annotations

import sys

from app.cli import main

sys.exit(main())

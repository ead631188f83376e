"""The Linux bundle's one program: ``dispatcher-hmi``, ``-m app.counterparts.sim``, ``-m app.cli``.

A frozen program has no interpreter to run ``python -m``, yet the HMI's demo
starts the simulator as ``sys.executable -m app.counterparts.sim``
(``app/counterparts/sim/launcher.py``);
so the bundle's executable accepts that form too, and the bundle's
``dispatcher-sim`` and ``dispatcher-cli`` scripts use it.
"""

from __future__ import annotations

import sys

from app.cli import main as cli_main
from app.counterparts.sim.__main__ import main as sim_main
from ui.main import main as hmi_main


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        sys.argv = [module, *sys.argv[3:]]
        if module == "app.counterparts.sim":
            return sim_main()
        if module == "app.cli":
            return cli_main()
        print(f"dispatcher-hmi: no module {module} in this bundle", file=sys.stderr)
        return 2
    return hmi_main()


if __name__ == "__main__":
    sys.exit(main())

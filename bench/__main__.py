"""``python -m bench <name> [options]``: run one registered benchmark.

The benchmark prints its human-readable figures; the last line is its result
as one JSON object, for scripts and CI.
"""

from __future__ import annotations

import json
import sys

from bench import BENCHMARKS


def usage() -> str:
    lines = ["usage: python -m bench <benchmark> [options]   (<benchmark> --help for its options)"]
    lines += ["", "benchmarks:"]
    lines += [f"  {b.name:<10} {b.help}" for b in BENCHMARKS.values()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    bench = BENCHMARKS.get(args[0])
    if bench is None:
        print(f"unknown benchmark {args[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    result = bench.load()(args[1:])
    print(json.dumps(result, sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

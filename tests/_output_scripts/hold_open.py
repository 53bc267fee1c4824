"""A target for the signal tests of :mod:`pharmsim.output`: open an output folder, write a file, then wait.

Usage: ``python hold_open.py OUT [--ignore-hup] [--seconds S]``. Prints the temporary folder's path once the
file is written, then sleeps ``S`` seconds (30) inside :func:`~pharmsim.output.atomic_output_dir`, then prints
``done``. ``--ignore-hup`` ignores SIGHUP first, as ``nohup`` does.

It imports ``pharmsim.output`` without running ``pharmsim/__init__.py``: the tests exercise this one module,
and importing the whole package (matplotlib, scipy, pandas) would make each subprocess several times slower.
"""

import argparse
import signal
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if "pharmsim" not in sys.modules:
    package = types.ModuleType("pharmsim")
    package.__path__ = [str(ROOT / "pharmsim")]
    sys.modules["pharmsim"] = package

from pharmsim.output import atomic_output_dir, write_text  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--ignore-hup", action="store_true")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if args.ignore_hup:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with atomic_output_dir(args.out, report=lambda m: print(f"note: {m}", file=sys.stderr)) as tmp:
        write_text(tmp / "tables" / "partial.csv", "a,b\n1,2\n")
        print(tmp, flush=True)
        time.sleep(args.seconds)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

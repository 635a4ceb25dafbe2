#!/usr/bin/env python3
"""Benchmark: `./lab up` on a lab that is down, then `./lab up` again, in one run; prints the ratio.

The second run is the one users make most (after a pull, from a schedule): it must change nothing
and skip every role whose last converge still holds (library/converge_stamp.py). A third run with
-e pacs_full_converge=true shows what the stamps save against running every task again.

    .venv/bin/python bench/lab_up_rerun.py            # down, up, up, up (full); about 35 min on 2 cores
    .venv/bin/python bench/lab_up_rerun.py --keep-up  # leave the lab up at the end (default: down)

The first run here starts from a lab that is down on a machine that is set up: on a fresh machine
the first `./lab up` also creates the virtual environment and installs the packages (see the
README), and takes longer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.benchlib import changed, timed  # noqa: E402 - after the path is set


def lab(*args: str) -> tuple[float, str]:
    """Run ./lab with args; return its wall time and output, or stop the benchmark on failure."""
    return timed(["./lab", *args], f"./lab {' '.join(args)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-up", action="store_true", help="leave the lab up at the end")
    options = parser.parse_args()

    lab("down")
    first, _ = lab("up")
    second, second_output = lab("up")
    full, full_output = lab("up", "-e", "pacs_full_converge=true")
    if not options.keep_up:
        lab("down")

    print(f"first ./lab up (lab down before):        {first:7.0f} s")
    print(f"second ./lab up (stamps hold):           {second:7.0f} s   changed={changed(second_output)}")
    print(f"./lab up -e pacs_full_converge=true:     {full:7.0f} s   changed={changed(full_output)}")
    print(f"first / second: {first / second:.1f}x    full rerun / second: {full / second:.1f}x")
    return 0 if changed(second_output) == 0 and changed(full_output) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

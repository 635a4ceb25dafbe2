#!/usr/bin/env python3
"""Benchmark: `./lab up` on a lab that is down, then `./lab up` again, in one run; prints the ratio.

The second run is the one users make most (after a pull, from a schedule): it must change nothing
and skip every role whose last converge still holds (library/converge_stamp.py). A third run with
-e pacs_full_converge=true shows what the stamps save against running every task again.

    .venv/bin/python bench/lab_up_rerun.py            # down, up, up, up (full)
    .venv/bin/python bench/lab_up_rerun.py --cold     # the first up also builds every image
    .venv/bin/python bench/lab_up_rerun.py --keep-up  # leave the lab up at the end (default: down)

Without --cold the first run starts from a lab that is down on a machine that is set up, with the
images in Docker (the first run pushes them into the lab's registry again). With --cold, nothing of
the lab is left before it: `./lab down -e lab_down_purge=true` (containers, the task's volumes, the
on-prem network), then, with the Docker engine started again by playbooks/setup.yml, the images the
lab builds are removed (repositories pacs-lab/* and the lab registry's pacs-lab/*: the two base
images made with debootstrap, Dicoogle or Orthanc, nginx, ghostunnel), the Docker engine's build
cache is emptied, the lab registry's data are removed and the lab is taken down again. On a fresh
machine the first `./lab up` also creates the virtual environment, installs the packages and builds
ghostunnel (see the README), and takes longer.
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


def make_cold() -> None:
    """Leave nothing of the lab: its containers, volumes, images, build cache and registry data."""
    lab("down", "-e", "lab_down_cold=true")
    print("cold: ./lab down -e lab_down_cold=true (images, build cache, registry data, build contexts removed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-up", action="store_true", help="leave the lab up at the end")
    parser.add_argument("--cold", action="store_true", help="the first up also builds every image (see above)")
    options = parser.parse_args()

    if options.cold:
        make_cold()
    else:
        lab("down")
    first, _ = lab("up")
    second, second_output = lab("up")
    full, full_output = lab("up", "-e", "pacs_full_converge=true")
    if not options.keep_up:
        lab("down")

    first_label = "cold: nothing built" if options.cold else "lab down before"
    print(f"first ./lab up ({first_label}):  {first:7.0f} s")
    print(f"second ./lab up (stamps hold):           {second:7.0f} s   changed={changed(second_output)}")
    print(f"./lab up -e pacs_full_converge=true:     {full:7.0f} s   changed={changed(full_output)}")
    print(f"second / first: {second / first:.2f}    full rerun / second: {full / second:.1f}x")
    return 0 if changed(second_output) == 0 and changed(full_output) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

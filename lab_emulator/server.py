"""The lab's AWS: moto's server with the project's extensions, the same command line as `moto_server`.

    python -m lab_emulator.server -H 127.0.0.1 -p 5000      (from the checkout)
    .venv/bin/python lab_emulator/server.py -H 127.0.0.1 -p 5000   (from anywhere: what ./lab up runs)

The extensions are applied to moto's response classes before moto's own `main` starts serving, so every
request, including those to the added API calls, goes through moto's normal dispatch.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script path: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from moto.server import main as moto_main  # noqa: E402

import lab_emulator  # noqa: E402,F401 - applies the extensions


def main(argv: list[str] | None = None) -> None:
    moto_main(argv)


if __name__ == "__main__":
    main()

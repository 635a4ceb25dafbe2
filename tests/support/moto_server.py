"""The lab's AWS emulator (lab_emulator/server.py) in a subprocess on a free loopback port, for one test module.

Started as the lab starts it: the checkout's script path run by this Python, from outside the checkout (the
script path must work from anywhere). Stopped by its own pid, never by name, so that the lab's server
(127.0.0.1:5000) and any other test's are left alone. tests/unit/conftest.py's `emulator_url` fixture runs one
per test module that asks for it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "lab_emulator" / "server.py"
# moto imports slowly on a loaded 2-core machine.
START_TIMEOUT = 300


class ServerDidNotStart(RuntimeError):
    """The server exited, or did not answer within START_TIMEOUT seconds; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/config", timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status == 201  # moto answers its settings with 201
    except OSError:
        return False


@contextlib.contextmanager
def emulator(log: Path, port: int | None = None) -> Iterator[str]:
    """Run the emulator on 127.0.0.1:`port` (a free one by default), its output in `log`; yield its URL."""
    port = port or free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(port)],
            cwd="/",
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerDidNotStart(f"the lab's emulator did not start on {url}: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def reset(url: str) -> None:
    """A clean account: moto forgets every resource (POST /moto-api/reset)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback

"""Run the project's playbooks from tests and read their results."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?"
)


@dataclass
class PlaybookRun:
    """What one ansible-playbook run printed and returned."""

    args: list[str]
    returncode: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return parse_recap(self.output)

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    @property
    def failed(self) -> int:
        return sum(host["failed"] + host["unreachable"] for host in self.recap.values())

    def report(self, tail: int = 3000) -> str:
        """What a failed assertion should show: every failed task with its heading, then the end of the output."""
        return failure_summary(self.output) + "\n--- last lines ---\n" + self.output[-tail:]


_FAILURE_MARKERS = ("fatal:", "failed:", "[ERROR]", "UNREACHABLE!")


def failure_summary(output: str, context: int = 12) -> str:
    """Return each failed task of a playbook's output with the lines before it (its TASK heading)."""
    lines = output.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith(_FAILURE_MARKERS) and "...ignoring" not in "".join(lines[index : index + 3]):
            blocks.append("\n".join(lines[max(0, index - context) : index + 4]))
    return "\n...\n".join(blocks) if blocks else "(no failed task in the output)"


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """Return {host: {ok, changed, unreachable, failed, ...}} summed over every PLAY RECAP in output.

    An output with several playbook runs (or imported playbooks) has one recap per run;
    the counters of one host are added up.
    """
    totals: dict[str, dict[str, int]] = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if not in_recap:
            continue
        match = _RECAP_LINE.match(line.strip())
        if match:
            host = match.group("host")
            counts = {
                key: int(value) for key, value in match.groupdict().items() if key != "host" and value is not None
            }
            previous = totals.setdefault(host, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                previous[key] = previous.get(key, 0) + value
        elif line.strip():
            in_recap = False
    return totals


def run_playbook(
    playbook: str, *extra: str, inventory: str = "inventories/lab", timeout: int = 1800, env: dict | None = None
) -> PlaybookRun:
    """Run a playbook of the project with the project's ansible.cfg; never raises on failure.

    env: variables added to the environment (e.g. {"PACS_MITOGEN": "0"}).
    """
    args = ["ansible-playbook", "-i", inventory, playbook, *extra]
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        **(env or {}),
    )
    started = time.monotonic()
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return PlaybookRun(args, proc.returncode, proc.stdout, time.monotonic() - started)

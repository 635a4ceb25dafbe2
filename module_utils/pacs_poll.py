# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling with exponential backoff, shared by the AWS helpers (pacs_aws) and the PACS REST clients (pacs_rest).

Standard library only, so that a module using it needs nothing else on its host.
"""

from __future__ import annotations

import time


def poll(probe, done, timeout, first_delay=1.0, max_delay=30.0, factor=1.5, sleep=time.sleep):
    """Call probe() until done(result) is true, sleeping with exponential backoff between calls.

    Returns (result, True) when done, (last result, False) when `timeout` seconds passed first.
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        result = probe()
        if done(result):
            return result, True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return result, False
        sleep(min(delay, remaining))
        delay = min(delay * factor, max_delay)

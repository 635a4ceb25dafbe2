"""The lab the integration tests share: the main job's first run, made once per test session."""

from __future__ import annotations

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook


@pytest.fixture(scope="session")
def site_first_run() -> PlaybookRun:
    """playbooks/site.yml, run once: test_site asserts on it; test_ingest needs the lab it leaves up."""
    # An hour: alone it takes 3-16 min depending on the machine (2 cores), but beside the other test
    # lanes CI's first run once overran 30 min (stop 9).
    return run_playbook("playbooks/site.yml", timeout=3600)

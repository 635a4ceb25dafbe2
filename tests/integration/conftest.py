"""The lab the integration tests share: the main job's first run, made once per test session."""

from __future__ import annotations

import pytest

from tests.support.ansible_run import PlaybookRun, run_playbook

# Modules that take the lab's storage away (test_backup_restore removes the
# PACS's volumes and moves the task onto restored ones): they run after
# every other integration test, whatever the order of the files.
LAST = ("test_backup_restore.py",)


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name in LAST)


@pytest.fixture(scope="session")
def site_first_run() -> PlaybookRun:
    """playbooks/site.yml, run once: test_site asserts on it; test_ingest needs the lab it leaves up."""
    # An hour: beside the other test lanes a slow 2-core machine takes several times as long as the
    # run alone (docs/performance.md, CI); a timeout must not fail a run that is only slow.
    return run_playbook("playbooks/site.yml", timeout=3600)

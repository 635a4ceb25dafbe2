"""The project's strategy (strategy_plugins/): the controller's connection timeout reaches Mitogen.

Mitogen 0.3.54 starts the controller's (``local``) interpreter within a fixed 30 s, whatever
``ansible_timeout`` says; strategy_plugins/_pacs_strategy.py hands it the host's timeout. A
wrapper that waits a few seconds before it starts Python stands for a starved CPU: with a timeout
shorter than the wait the task must fail as unreachable, with the inventory's timeout it must pass.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.ansible_run import run_playbook

START_DELAY = 4  # seconds the wrapper waits before it starts Python

PLAYBOOK = """\
- name: Start the controller's interpreter
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ping the controller
      ansible.builtin.ping:
"""


@pytest.fixture(scope="module")
def slow_start(tmp_path_factory) -> tuple[str, str]:
    """A playbook on localhost and an interpreter that takes START_DELAY seconds to start."""
    folder = tmp_path_factory.mktemp("slow_start")
    wrapper = folder / "slow-python"
    wrapper.write_text(f'#!/bin/sh\nsleep {START_DELAY}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    playbook = folder / "ping.yml"
    playbook.write_text(PLAYBOOK)
    return str(playbook), str(wrapper)


@pytest.fixture(autouse=True)
def mitogen_on(monkeypatch):
    """These tests are about the Mitogen strategy: make sure it runs even if the caller turned it off."""
    monkeypatch.setenv("PACS_MITOGEN", "1")


def test_a_timeout_shorter_than_the_start_fails_as_unreachable(slow_start):
    playbook, wrapper = slow_start
    run = run_playbook(playbook, "-e", f"ansible_python_interpreter={wrapper}", "-e", "ansible_timeout=1", timeout=300)
    assert run.returncode != 0, run.report()
    assert run.recap["localhost"]["unreachable"] == 1, run.report()
    assert "Connection timed out" in run.output, run.report()


def test_the_inventorys_timeout_waits_for_a_slow_start(slow_start):
    playbook, wrapper = slow_start
    run = run_playbook(playbook, "-e", f"ansible_python_interpreter={wrapper}", timeout=300)
    assert run.returncode == 0, run.report()
    assert run.recap["localhost"]["ok"] == 1, run.report()

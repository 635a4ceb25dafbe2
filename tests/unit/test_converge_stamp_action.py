"""The controller side of the converge stamp (action_plugins/converge_stamp.py): one check, one record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleActionFail

from action_plugins import converge_stamp as action
from tests.support.ansible_run import PlaybookRun, run_playbook

# The stock strategy: one short play, nothing for Mitogen to gain.
STOCK = {"PACS_MITOGEN": "0"}


def test_the_line_says_what_happens_and_why():
    assert action.check_message("storescp", True, "inputs and live state as at the last converge") == (
        "storescp: nothing to do, inputs and live state as at the last converge"
    )
    assert action.check_message("PKI", False, "no stamp of an earlier converge").startswith("PKI: converging, ")


def test_a_record_takes_what_its_check_compared_and_its_own_values_win():
    checked = {"inputs_digest": "a" * 64, "watch": ["/etc/x"], "probes": [["true"]], "live_extra": "old"}
    merged = action.record_arguments(
        {"state": "record", "path": "/s.json", "live_extra": "new", "outputs": {"k": 1}, "name": "x"}, checked
    )
    assert merged == {
        "state": "record",
        "path": "/s.json",
        "inputs_digest": "a" * 64,
        "watch": ["/etc/x"],
        "probes": [["true"]],
        "live_extra": "new",
        "outputs": {"k": 1},
    }


def test_a_record_without_a_check_or_inputs_is_refused_by_name():
    with pytest.raises(AnsibleActionFail, match=r"record of /s\.json without inputs_digest"):
        action.record_arguments({"state": "record", "path": "/s.json"}, {})


def test_the_remembered_checks_come_from_the_host_facts_first():
    assert action.remembered_checks({"ansible_facts": {action.CHECKS_FACT: {"/a": {}}}}) == {"/a": {}}
    assert action.remembered_checks({action.CHECKS_FACT: {"/b": {}}}) == {"/b": {}}
    assert action.remembered_checks({}) == {}


PLAY = """
- name: A role's stamp, as the roles call it
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Compare with the last converge
      converge_stamp:
        name: the example
        path: "{{ stamp }}"
        inputs_digest: "{{ digest }}"
        watch: ["{{ watched }}"]
        probes: [[test, -f, "{{ watched }}"]]
      register: checked

    - name: Show the match for the test
      ansible.builtin.debug:
        msg: "match={{ checked.match }}"

    - name: Record the converge
      converge_stamp:
        state: record
        path: "{{ stamp }}"
        outputs: {ref: "{{ digest }}"}
      when: not checked.match
"""


def run_play(tmp_path: Path, play: str = PLAY, **variables) -> PlaybookRun:
    playbook = tmp_path / "play.yml"
    playbook.write_text(play)
    extra = json.dumps({"ansible_python_interpreter": sys.executable, **variables})
    return run_playbook(str(playbook), "-c", "local", "-e", extra, inventory="localhost,", timeout=300, env=STOCK)


@pytest.fixture
def example(tmp_path):
    watched = tmp_path / "watched.conf"
    watched.write_text("one\n")
    return {"stamp": str(tmp_path / "stamps" / "example.json"), "watched": str(watched), "digest": "d" * 64}


def test_check_record_check_skips_the_second_time_and_a_change_converges_again(tmp_path, example):
    first = run_play(tmp_path, **example)
    assert first.returncode == 0, first.report()
    assert "[localhost] the example: converging, " in first.output
    assert '"msg": "match=False"' in first.output
    stamp = json.loads(Path(example["stamp"]).read_text())
    assert stamp["outputs"] == {"ref": example["digest"]}

    second = run_play(tmp_path, **example)
    assert second.returncode == 0, second.report()
    assert "[localhost] the example: nothing to do, inputs and live state as at the last converge" in second.output
    assert '"msg": "match=True"' in second.output

    Path(example["watched"]).write_text("two\n")
    third = run_play(tmp_path, **example)
    assert "[localhost] the example: converging, live state changed since the last converge" in third.output
    changed_inputs = run_play(tmp_path, **dict(example, digest="e" * 64))
    assert "the example: converging, inputs changed" in changed_inputs.output


def test_a_record_with_no_check_before_it_fails_before_writing(tmp_path, example):
    record_only = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        '    - converge_stamp: {state: record, path: "{{ stamp }}"}\n'
    )
    run = run_play(tmp_path, record_only, **example)
    assert run.returncode == 2
    assert "without inputs_digest and without a check of the same stamp" in run.output
    assert not Path(example["stamp"]).exists()

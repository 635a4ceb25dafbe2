"""Unit tests of the playbook-result parser the integration tests rely on."""

from tests.support.ansible_run import PlaybookRun, parse_recap

ONE_RUN = """
TASK [x] ***
ok: [localhost]

PLAY RECAP *********************************************************************
localhost                  : ok=12   changed=3    unreachable=0    failed=0    skipped=4    rescued=0    ignored=1

PLAYBOOK RECAP *****************************************************************
Playbook run took 0 days, 0 hours, 0 minutes, 2 seconds
"""

TWO_HOSTS_TWO_RECAPS = """
PLAY RECAP *****
localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
client                     : ok=5    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0

PLAY RECAP *****
localhost                  : ok=3    changed=2    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
"""


def test_parse_recap_reads_every_counter():
    recap = parse_recap(ONE_RUN)
    assert recap == {
        "localhost": {"ok": 12, "changed": 3, "unreachable": 0, "failed": 0, "skipped": 4, "rescued": 0, "ignored": 1}
    }


def test_parse_recap_adds_up_recaps_and_keeps_hosts_apart():
    recap = parse_recap(TWO_HOSTS_TWO_RECAPS)
    assert recap["localhost"]["changed"] == 3
    assert recap["localhost"]["failed"] == 1
    assert recap["client"]["unreachable"] == 1
    assert recap["client"]["changed"] == 0


def test_parse_recap_of_output_without_recap_is_empty():
    assert parse_recap("ERROR! the playbook could not be found") == {}


def test_playbook_run_totals_count_unreachable_as_failed():
    run = PlaybookRun(["ansible-playbook"], 2, TWO_HOSTS_TWO_RECAPS, 1.0)
    assert run.changed == 3
    assert run.failed == 2

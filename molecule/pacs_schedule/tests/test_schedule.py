"""Role pacs_schedule on its control host: timers, the wrapper's lock, logs, retention, exit status."""

from __future__ import annotations

import time

import pytest
import testinfra

HOST = "molecule-pacs-schedule"
LOGS = "/var/log/pacs-schedule"
WRAPPER = "/usr/local/sbin/pacs-scheduled-run"


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host(f"docker://{HOST}")


@pytest.fixture(autouse=True)
def clean(host):
    host.run(f"rm -f {LOGS}/*.log /root/stand-in.calls /etc/stand-in.rc /etc/stand-in.sleep")
    yield


def state(host, unit):
    return host.run(f"systemctl show -p ActiveState --value {unit}").stdout.strip()


def logs(host, job):
    return sorted(host.run(f"ls -1 {LOGS}/{job}-*.log 2>/dev/null").stdout.split())


@pytest.mark.parametrize(
    ("job", "calendar"),
    [("reconfigure", "*-*-* 03:15:00"), ("drift", "*-*-* *:00:00"), ("backup", "*-*-* 02:30:00")],
)
def test_each_job_has_an_enabled_running_timer(host, job, calendar):
    timer = host.service(f"pacs-schedule-{job}.timer")
    assert timer.is_enabled and timer.is_running
    shown = host.run(f"systemctl show -p TimersCalendar --value pacs-schedule-{job}.timer").stdout
    assert f"OnCalendar={calendar}" in shown, shown
    assert "Persistent=true" in host.file(f"/etc/systemd/system/pacs-schedule-{job}.timer").content_string


def test_a_removed_job_leaves_no_unit(host):
    assert not host.file("/etc/systemd/system/pacs-schedule-retired.timer").exists
    assert not host.file("/etc/systemd/system/pacs-schedule-retired.service").exists
    assert host.run(f"{WRAPPER} retired").rc == 64


def test_a_run_logs_its_playbook_with_the_inventory_and_environment(host):
    assert host.run("systemctl start pacs-schedule-drift.service").rc == 0
    (log,) = logs(host, "drift")
    content = host.file(log).content_string
    assert "stand-in ansible-playbook -i inventories/aws playbooks/collect.yml -e collect_fail_on_drift=true" in content
    assert content.rstrip().endswith("exit 0"), content
    assert host.file(log).mode == 0o640
    assert "PACS_SITE=molecule" in host.file("/root/stand-in.calls").content_string


def test_the_backup_job_runs_the_backup_with_its_retention(host):
    assert host.run("systemctl start pacs-schedule-backup.service").rc == 0
    (log,) = logs(host, "backup")
    content = host.file(log).content_string
    assert "stand-in ansible-playbook -i inventories/aws playbooks/backup.yml -e backup_keep=14" in content
    assert content.rstrip().endswith("exit 0"), content


def test_the_playbooks_exit_status_reaches_systemd(host):
    host.run("echo 2 >/etc/stand-in.rc")
    assert host.run("systemctl start pacs-schedule-drift.service").rc != 0
    assert host.run("systemctl show -p Result --value pacs-schedule-drift.service").stdout.strip() == "exit-code"
    (log,) = logs(host, "drift")
    assert host.file(log).content_string.rstrip().endswith("exit 2")
    host.run("systemctl reset-failed pacs-schedule-drift.service")


def test_two_runs_never_overlap(host):
    host.run("echo 6 >/etc/stand-in.sleep")
    assert host.run("systemctl start --no-block pacs-schedule-reconfigure.service").rc == 0
    deadline = time.monotonic() + 30
    while "reconfigure" not in host.run("cat /root/stand-in.calls 2>/dev/null").stdout:
        assert time.monotonic() < deadline, "the reconfigure run did not start"
        time.sleep(0.2)
    skipped = host.run(f"{WRAPPER} drift")
    assert skipped.rc == 0
    assert (
        "drift skipped: another scheduled run holds /run/lock/pacs-schedule.lock"
        in host.file(f"{LOGS}/skipped.log").content_string
    )
    assert logs(host, "drift") == []
    assert state(host, "pacs-schedule-reconfigure.service") == "activating", "the reconfigure run was not running"
    # A oneshot service is "activating" while it runs.
    while state(host, "pacs-schedule-reconfigure.service") == "activating":
        assert time.monotonic() < deadline + 30, "the reconfigure run did not end"
        time.sleep(0.2)
    host.run("rm -f /etc/stand-in.sleep")
    assert host.run(f"{WRAPPER} drift").rc == 0
    assert len(logs(host, "drift")) == 1


def test_only_the_newest_logs_of_a_job_are_kept(host):
    for _ in range(5):
        assert host.run(f"{WRAPPER} drift").rc == 0
    assert len(logs(host, "drift")) == 3
    assert host.run("wc -l </root/stand-in.calls").stdout.strip() == "5"

"""Role pacs_schedule on its control host, with its shipped jobs: timers, the wrapper's lock, logs,
retention, exit status, the drift job's exit codes, the reconfigure job's weekly full converge."""

from __future__ import annotations

import time

import pytest
import testinfra

HOST = "molecule-pacs-schedule"
LOGS = "/var/log/pacs-schedule"
STATE = "/var/lib/pacs-schedule"
WRAPPER = "/usr/local/sbin/pacs-scheduled-run"
FULL = "-e pacs_full_converge=true"
MARKER = f"{STATE}/reconfigure.full-converge"


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host(f"docker://{HOST}")


@pytest.fixture(autouse=True)
def clean(host):
    host.run(
        f"rm -f {LOGS}/*.log /root/stand-in.calls /etc/stand-in.rc /etc/stand-in.sleep /etc/stand-in.drift {MARKER}"
    )
    yield
    host.run("systemctl reset-failed 'pacs-schedule-*.service'")


def state(host, unit):
    return host.run(f"systemctl show -p ActiveState --value {unit}").stdout.strip()


def logs(host, job):
    return sorted(host.run(f"ls -1 {LOGS}/{job}-*.log 2>/dev/null").stdout.split())


def calls(host):
    return host.run("cat /root/stand-in.calls 2>/dev/null").stdout.splitlines()


def today(host) -> int:
    return int(host.run("echo $(( $(date -u +%s) / 86400 ))").stdout)


@pytest.mark.parametrize(
    ("job", "calendar"),
    [
        ("reconfigure", "*-*-* 03:15:00"),
        ("drift", "*-*-* *:00:00"),
        ("backup", "*-*-* 02:30:00"),
        ("rotate", "*-*-01 04:00:00"),
    ],
)
def test_each_job_has_an_enabled_running_timer(host, job, calendar):
    timer = host.service(f"pacs-schedule-{job}.timer")
    assert timer.is_enabled and timer.is_running
    shown = host.run(f"systemctl show -p TimersCalendar --value pacs-schedule-{job}.timer").stdout
    assert f"OnCalendar={calendar}" in shown, shown
    assert "Persistent=true" in host.file(f"/etc/systemd/system/pacs-schedule-{job}.timer").content_string
    service = host.file(f"/etc/systemd/system/pacs-schedule-{job}.service").content_string
    assert f"ExecStart={WRAPPER} {job}\n" in service, service


def test_removed_jobs_leave_no_unit(host):
    # retired: removed by the scenario; catalog: shipped absent (lab only).
    for job in ("retired", "catalog"):
        assert not host.file(f"/etc/systemd/system/pacs-schedule-{job}.timer").exists
        assert not host.file(f"/etc/systemd/system/pacs-schedule-{job}.service").exists
        assert host.run(f"{WRAPPER} {job}").rc == 64


def test_the_shipped_jobs_run_as_the_wrapper_says(host):
    wrapper = host.file(WRAPPER).content_string
    reconfigure = wrapper[wrapper.index("  reconfigure)") : wrapper.index(";;", wrapper.index("  reconfigure)"))]
    assert "runner=''" in reconfigure and "full_converge=1" in reconfigure, reconfigure
    drift = wrapper[wrapper.index("  drift)") : wrapper.index(";;", wrapper.index("  drift)"))]
    assert "runner=bin/pacs_collect.py" in drift and "full_converge=0" in drift, drift
    assert "-ge 7 ]" in wrapper  # every 7 days by default


def test_a_run_logs_its_playbook_with_the_inventory_and_environment(host):
    assert host.run("systemctl start pacs-schedule-drift.service").rc == 0
    (log,) = logs(host, "drift")
    content = host.file(log).content_string
    assert "# drift: bin/pacs_collect.py -i inventories/aws playbooks/collect.yml" in content, content
    assert (
        'stand-in ansible-playbook -i inventories/aws playbooks/collect.yml -e {"collect_fail_on_drift": false, '
        '"collect_result_file": "/tmp/pacs-collect-' in content
    ), content
    assert "pacs_collect: exit 0: no drift" in content
    assert content.rstrip().endswith("exit 0"), content
    assert host.file(log).mode == 0o640
    assert "PACS_SITE=molecule" in host.file("/root/stand-in.calls").content_string


def test_a_job_runs_its_playbook_with_its_arguments(host):
    assert host.run("systemctl start pacs-schedule-rotate.service").rc == 0
    (log,) = logs(host, "rotate")
    content = host.file(log).content_string
    assert "stand-in ansible-playbook -i inventories/aws playbooks/reconfigure.yml -e rotate=true\n" in content, content
    assert FULL not in content  # no full_converge on this job
    assert content.rstrip().endswith("exit 0"), content


def test_the_backup_job_runs_the_backup(host):
    assert host.run("systemctl start pacs-schedule-backup.service").rc == 0
    (log,) = logs(host, "backup")
    content = host.file(log).content_string
    assert "stand-in ansible-playbook -i inventories/aws playbooks/backup.yml\n" in content, content
    assert content.rstrip().endswith("exit 0"), content


def exec_main_status(host, job) -> str:
    return host.run(f"systemctl show -p ExecMainStatus --value pacs-schedule-{job}.service").stdout.strip()


@pytest.mark.parametrize(
    ("drift", "rc", "status", "says"),
    [
        ("0", "0", 0, "no drift"),
        ("3", "0", 20, "drift: 3 drifted item(s); report reports/latest-molecule.md"),
        # A broken run keeps Ansible's status, whatever drift it saw so far.
        ("3", "2", 2, "broken run: ansible-playbook exited 2"),
        ("none", "4", 4, "broken run: ansible-playbook exited 4"),
        ("none", "0", 1, "broken run: ansible-playbook exited 0 without writing a verdict"),
    ],
)
def test_the_drift_job_tells_drift_from_a_broken_run(host, drift, rc, status, says):
    host.run(f"echo {drift} >/etc/stand-in.drift; echo {rc} >/etc/stand-in.rc")
    started = host.run("systemctl start pacs-schedule-drift.service")
    assert (started.rc == 0) == (status == 0), started.stderr
    assert exec_main_status(host, "drift") == str(status)
    if status:
        assert host.run("systemctl show -p Result --value pacs-schedule-drift.service").stdout.strip() == "exit-code"
    (log,) = logs(host, "drift")
    content = host.file(log).content_string
    assert f"pacs_collect: exit {status}: {says}" in content, content
    assert content.rstrip().endswith(f"exit {status}"), content


def test_the_playbooks_exit_status_reaches_systemd(host):
    host.run("echo 2 >/etc/stand-in.rc")
    assert host.run("systemctl start pacs-schedule-backup.service").rc != 0
    assert host.run("systemctl show -p Result --value pacs-schedule-backup.service").stdout.strip() == "exit-code"
    assert exec_main_status(host, "backup") == "2"
    (log,) = logs(host, "backup")
    assert host.file(log).content_string.rstrip().endswith("exit 2")


def reconfigure_runs_in_full(host) -> bool:
    """Run the reconfigure job once (through its unit) and say whether it converged in full."""
    host.run(f"rm -f {LOGS}/reconfigure-*.log /root/stand-in.calls")
    # reset-failed also resets the unit's start rate limit (5 starts in 10 s by default).
    host.run("systemctl reset-failed pacs-schedule-reconfigure.service")
    started = host.run("systemctl start pacs-schedule-reconfigure.service")
    found = logs(host, "reconfigure")
    assert len(found) == 1, started.stderr + host.run(f"cat {LOGS}/skipped.log 2>/dev/null").stdout
    (log,) = found
    content = host.file(log).content_string
    (call,) = calls(host)
    assert call.startswith("-i inventories/aws playbooks/reconfigure.yml"), call
    assert (FULL in call) == ("# full converge: " in content), content
    return FULL in call


def test_the_reconfigure_job_converges_in_full_once_a_week(host):
    # No full converge recorded (a new control host): the first run is one, and records it.
    assert reconfigure_runs_in_full(host)
    assert host.file(MARKER).content_string.split()[0] == str(today(host))
    # Then not again until 7 days (UTC dates) later.
    assert not reconfigure_runs_in_full(host)
    host.run(f"echo {today(host) - 6} 2000-01-01T03:15:00Z >{MARKER}")
    assert not reconfigure_runs_in_full(host)
    host.run(f"echo {today(host) - 7} 2000-01-01T03:15:00Z >{MARKER}")
    assert reconfigure_runs_in_full(host)
    (log,) = logs(host, "reconfigure")
    assert "# full converge: the last was 7 days ago (every 7)" in host.file(log).content_string
    assert host.file(MARKER).content_string.split()[0] == str(today(host))


def test_a_failed_full_converge_is_retried_by_the_next_run(host):
    host.run(f"echo {today(host) - 8} 2000-01-01T03:15:00Z >{MARKER}")
    host.run("echo 2 >/etc/stand-in.rc")
    assert reconfigure_runs_in_full(host)
    assert exec_main_status(host, "reconfigure") == "2"
    assert host.file(MARKER).content_string.split()[0] == str(today(host) - 8)
    host.run("rm -f /etc/stand-in.rc")
    assert reconfigure_runs_in_full(host)
    assert not reconfigure_runs_in_full(host)


def test_two_runs_never_overlap(host):
    host.run(f"echo {today(host)} >{MARKER}")
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

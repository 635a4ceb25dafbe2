"""Set-up of the controller: idempotent, services up, ghostunnel pinned, bad input refused.

`./lab test` has run playbooks/setup.yml before these tests; here it runs again.
"""

from __future__ import annotations

import hashlib
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.ansible_run import ROOT, run_playbook

STATE = ROOT / ".lab"
GHOSTUNNEL_VERSION = "v1.8.4"


def test_setup_rerun_in_full_changes_nothing():
    """Every task of set-up again (pacs_full_converge=true: the stamp is neither read nor written)."""
    run = run_playbook("playbooks/setup.yml", "-e", '{"pacs_full_converge": true}')
    assert run.returncode == 0, run.report()
    assert run.recap, "no PLAY RECAP in the output"
    assert run.changed == 0, run.report()
    assert "set-up: nothing to do" not in run.output


def test_setup_rerun_on_its_stamp_ends_at_once_and_a_stopped_service_is_started_again():
    """A rerun skips set-up while its stamp holds; a registry stopped by hand makes it run in full."""
    plain = run_playbook("playbooks/setup.yml")
    assert plain.returncode == 0 and plain.changed == 0, plain.report()
    assert "set-up: nothing to do, inputs and live state as at the last converge" in plain.output, plain.report()
    pid_file = STATE / "run" / "registry.pid"
    stopped = subprocess.run(
        ["start-stop-daemon", "--stop", "--retry", "TERM/15/KILL/5", "--pidfile", str(pid_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stderr
    rerun = run_playbook("playbooks/setup.yml")
    assert rerun.returncode == 0, rerun.report()
    assert "set-up: converging, " in rerun.output, rerun.report()
    assert rerun.changed >= 1, rerun.report()
    with urllib.request.urlopen("http://127.0.0.1:5001/v2/", timeout=30) as response:  # noqa: S310 - loopback only
        assert response.status == 200


@pytest.mark.parametrize(
    ("service", "url", "status"),
    [("moto", "http://127.0.0.1:5000/moto-api/config", 201), ("registry", "http://127.0.0.1:5001/v2/", 200)],
)
def test_lab_service_answers_and_has_pid_file_and_log(service, url, status):
    # moto's small settings endpoint: /moto-api/data.json dumps every model
    # (4.5 MB, 21 s here), which overran this test's timeout in CI.
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback only
        assert response.status == status
    pid = int((STATE / "run" / f"{service}.pid").read_text().strip())
    assert Path(f"/proc/{pid}").exists(), f"{service} pid {pid} from its pid file is not alive"
    assert (STATE / "log" / f"{service}.log").stat().st_size > 0


def test_ghostunnel_is_the_pinned_version():
    binary = STATE / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    assert GHOSTUNNEL_VERSION in out.stdout + out.stderr


def _release_play(tmp_path: Path, url: str, checksum: str) -> list[str]:
    return [
        "-e",
        f"ghostunnel_binary_release_url={url}",
        "-e",
        f"ghostunnel_binary_release_checksum={checksum}",
        "-e",
        f"ghostunnel_binary_dir={tmp_path / 'bin'}",
    ]


def test_release_binary_path_checks_checksum_and_version(tmp_path):
    """The no-Go-toolchain path: download the pinned release binary, check its checksum and version.

    The real release URL (GitHub) cannot be reached from this machine, so the download is
    served from a file:// copy of the binary set-up built; get_url, the checksum and the
    version check are the real ones.
    """
    source = STATE / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    run = run_playbook(
        "tests/playbooks/ghostunnel_release.yml", *_release_play(tmp_path, source.as_uri(), f"sha256:{digest}")
    )
    assert run.returncode == 0, run.report()
    assert (tmp_path / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}").exists()
    rerun = run_playbook(
        "tests/playbooks/ghostunnel_release.yml", *_release_play(tmp_path, source.as_uri(), f"sha256:{digest}")
    )
    assert rerun.returncode == 0 and rerun.changed == 0, rerun.report()


def test_release_binary_with_wrong_checksum_is_refused(tmp_path):
    source = STATE / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}"
    run = run_playbook(
        "tests/playbooks/ghostunnel_release.yml", *_release_play(tmp_path, source.as_uri(), "sha256:" + "0" * 64)
    )
    assert run.returncode != 0
    assert "checksum" in run.output.lower()
    assert not (tmp_path / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}").exists()


def test_release_binary_without_checksum_is_refused_naming_the_variable(tmp_path):
    source = STATE / "bin" / f"ghostunnel-{GHOSTUNNEL_VERSION}"
    run = run_playbook("tests/playbooks/ghostunnel_release.yml", *_release_play(tmp_path, source.as_uri(), ""))
    assert run.returncode != 0
    assert "ghostunnel_binary_release_checksum" in run.output
    assert not (tmp_path / "bin").exists() or not any((tmp_path / "bin").iterdir())


def test_base_image_refuses_an_unpinned_upstream_image():
    run = run_playbook(
        "tests/playbooks/base_image.yml",
        "-e",
        "base_image_ref=pacs-test/never:built",
        "-e",
        "base_image_pull_ref=debian:bookworm",
    )
    assert run.returncode != 0
    assert "base_image_pull_ref must be pinned by digest" in run.output
    assert run.changed == 0

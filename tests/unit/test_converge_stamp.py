"""converge_stamp (module) and converge_inputs (lookup): when a rerun may skip a role, and when it must not."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar, trust_as_template

from library import converge_stamp
from tests.support.module_runner import run_module

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def host(tmp_path):
    """A converged 'host': a config folder, a unit file, and the stamp's path."""
    config = tmp_path / "etc" / "app"
    config.mkdir(parents=True)
    (config / "app.conf").write_text("port = 7777\n")
    (config / "key.pem").write_text("not a real key\n")
    (config / "key.pem").chmod(0o600)
    unit = tmp_path / "app.service"
    unit.write_text("[Service]\nExecStart=/bin/true\n")
    return {
        "path": str(tmp_path / "stamps" / "app.json"),
        "inputs_digest": "a" * 64,
        "watch": [str(config), str(unit)],
        "probes": [["echo", "active"]],
    }


def stamp(args: dict, state: str, **more):
    return run_module(converge_stamp.main, dict(args, state=state, **more))


def test_no_stamp_no_match_then_record_then_match(host):
    first = stamp(host, "check")
    assert not first.failed and not first.changed
    assert first["match"] is False and first["reason"] == "no stamp of a previous converge"
    recorded = stamp(host, "record", outputs={"refs": ["a:1"]})
    assert not recorded.failed and not recorded.changed
    assert stat.S_IMODE(os.stat(host["path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(host["path"]).parent).st_mode) == 0o700
    again = stamp(host, "check")
    assert again["match"] is True, again["reason"]
    assert again["outputs"] == {"refs": ["a:1"]}
    assert again["live_digest"] == recorded["live_digest"]


@pytest.mark.parametrize(
    ("drift", "reason"),
    [
        ("content", "live state changed since the last converge: path "),
        ("mode", "live state changed since the last converge: path "),
        ("new file", "live state changed since the last converge: path "),
        ("removed unit", "live state changed since the last converge: path "),
        ("inputs", "inputs changed"),
        ("probe output", "live state changed since the last converge: probe echo"),
        ("probe fails", "a probe failed: probe false exited 1"),
        ("probe cannot run", "a probe failed: probe /nonexistent/ghostunnel --version exited 127: cannot run"),
    ],
)
def test_every_kind_of_drift_means_converge_again(host, drift, reason):
    assert not stamp(host, "record").failed
    config, unit = (Path(p) for p in host["watch"])
    args = dict(host)
    if drift == "content":
        (config / "app.conf").write_text("port = 7778\n")
    elif drift == "mode":
        (config / "key.pem").chmod(0o644)
    elif drift == "new file":
        (config / "extra.conf").write_text("")
    elif drift == "removed unit":
        unit.unlink()
    elif drift == "inputs":
        args["inputs_digest"] = "b" * 64
    elif drift == "probe output":
        args["probes"] = [["echo", "inactive"]]
    elif drift == "probe fails":
        args["probes"] = [["false"]]
    elif drift == "probe cannot run":
        args["probes"] = [["/nonexistent/ghostunnel", "--version"]]
    result = stamp(args, "check")
    assert result["match"] is False
    assert result["reason"].startswith(reason), result["reason"]
    assert not result.changed


def test_a_stamp_expires_when_something_falls_due(host):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert not stamp(host, "record", valid_until=past).failed
    result = stamp(host, "check")
    assert result["match"] is False and "expired" in result["reason"]
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert not stamp(host, "record", valid_until=future).failed
    assert stamp(host, "check")["match"] is True


def test_bad_valid_until_is_refused_and_nothing_written(host):
    result = stamp(host, "record", valid_until="next tuesday")
    assert result.failed and "ISO 8601" in result["msg"]
    assert not Path(host["path"]).exists()


def test_a_failing_probe_is_never_recorded_and_drops_an_older_stamp(host):
    """A service still starting at record time: no stamp, so that the next run converges in full."""
    assert stamp(host, "record")["recorded"] is True
    assert Path(host["path"]).exists()
    result = stamp(dict(host, probes=[["false"]]), "record")
    assert not result.failed and not result.changed
    assert result["recorded"] is False and result["match"] is False
    assert result["reason"].startswith("not recorded, the live state fails a probe: probe false exited 1")
    assert not Path(host["path"]).exists()
    assert stamp(host, "check")["match"] is False


def test_check_mode_records_nothing(host):
    result = run_module(converge_stamp.main, dict(host, state="record"), check_mode=True)
    assert not result.failed and not result.changed
    assert not Path(host["path"]).exists()


def test_an_unreadable_or_foreign_stamp_is_no_stamp(host):
    Path(host["path"]).parent.mkdir(mode=0o700)
    Path(host["path"]).write_text("{not json")
    assert stamp(host, "check")["reason"] == "no stamp of a previous converge"
    Path(host["path"]).write_text(json.dumps({"format": 99}))
    assert stamp(host, "check")["reason"] == "no stamp of a previous converge"


def test_a_symbolic_link_is_compared_by_its_target_not_followed(tmp_path):
    target_a, target_b = tmp_path / "a", tmp_path / "b"
    target_a.write_text("same")
    target_b.write_text("same")
    link = tmp_path / "watched" / "link"
    link.parent.mkdir()
    link.symlink_to(target_a)
    args = {"path": str(tmp_path / "s.json"), "inputs_digest": "x", "watch": [str(link.parent)]}
    assert not stamp(args, "record").failed
    link.unlink()
    link.symlink_to(target_b)
    assert stamp(args, "check")["match"] is False


# --- the lookup --------------------------------------------------------------------------------------------


@pytest.fixture
def role(tmp_path):
    """A copy of a real role of the project, to change its files."""
    copy = tmp_path / "roles" / "dicom_client"
    shutil.copytree(ROOT / "roles" / "dicom_client", copy)
    return copy


def inputs(role: Path, variables: dict, **kwargs) -> str:
    """The lookup as a task would call it (loaded by the plugin loader, which reads its options)."""
    lookup_loader.add_directory(str(ROOT / "lookup_plugins"))
    lookup = lookup_loader.get("converge_inputs", loader=None, templar=Templar(loader=None, variables=variables))
    (digest,) = lookup.run([str(role)], variables=variables, **kwargs)
    return digest


def test_the_digest_follows_arguments_role_files_controller_files_and_extra(role, tmp_path):
    variables = {"dicom_client_aet": "DCMTK-CLIENT", "dicom_client_storage_port": 16666}
    base = inputs(role, variables)
    assert len(base) == 64 and base == inputs(role, dict(variables))
    assert inputs(role, dict(variables, dicom_client_aet="OTHER")) != base
    # A variable the argument spec does not declare is not an input.
    assert inputs(role, dict(variables, unrelated_variable=1)) == base
    # A templated argument (as the inventory gives it, trusted) counts by its value.
    templated = trust_as_template("{{ pacs_client_aet }}")
    assert inputs(role, dict(variables, pacs_client_aet="DCMTK-CLIENT", dicom_client_aet=templated)) == base
    (role / "templates" / "pacs-dicom.j2").write_text("changed\n")
    assert inputs(role, variables) != base
    binary = tmp_path / "ghostunnel"
    binary.write_bytes(b"v1")
    with_binary = inputs(role, variables, files=[str(binary)])
    binary.write_bytes(b"v2")
    assert inputs(role, variables, files=[str(binary)]) != with_binary
    assert inputs(role, variables, extra="secret-digest-1") != inputs(role, variables, extra="secret-digest-2")


def test_a_role_without_argument_spec_or_a_missing_file_is_an_error(role, tmp_path):
    with pytest.raises(AnsibleError, match="does not exist"):
        inputs(role, {}, files=[str(tmp_path / "missing")])
    (role / "meta" / "argument_specs.yml").unlink()
    with pytest.raises(AnsibleError, match="argument spec lists its inputs"):
        inputs(role, {})


def test_drift_reads_the_live_state_the_stamp_lists_without_the_inputs(host, tmp_path):
    drift_args = {"path": host["path"], "state": "drift"}
    none = run_module(converge_stamp.main, drift_args)
    assert none["match"] is False and none["drifted"] == ["stamp"] and none["recorded_at"] is None
    # The probe's output is a file, so that it can change after the record.
    flag = tmp_path / "active"
    flag.write_text("active\n")
    assert not stamp(dict(host, probes=[["cat", str(flag)]]), "record", live_extra="c" * 64).failed
    same = run_module(converge_stamp.main, drift_args)
    assert same["match"] is True and same["drifted"] == [] and same["recorded_at"], same["reason"]
    config, unit = (Path(p) for p in host["watch"])
    (config / "app.conf").write_text("port = 7778\n")
    flag.write_text("inactive\n")
    changed = run_module(converge_stamp.main, drift_args)
    assert not changed.changed and changed["match"] is False
    assert changed["drifted"] == [f"path {config}", f"probe cat {flag}"], changed["drifted"]
    assert str(config) in changed["reason"] and "probe cat" in changed["reason"]
    assert str(unit) not in changed["reason"]


def test_drift_of_a_stamp_without_its_live_state_list_says_so(host):
    assert not stamp(host, "record").failed
    old = json.loads(Path(host["path"]).read_text())
    del old["watch"], old["probes"]
    Path(host["path"]).write_text(json.dumps(old))
    result = run_module(converge_stamp.main, {"path": host["path"], "state": "drift"})
    assert result["match"] is False and "older version" in result["reason"]


def test_check_and_record_still_need_the_inputs(host):
    args = {key: value for key, value in host.items() if key != "inputs_digest"}
    for state in ("check", "record"):
        result = stamp(args, state)
        assert result.failed and "inputs_digest" in result["msg"]

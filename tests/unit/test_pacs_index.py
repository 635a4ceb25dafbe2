"""pacs_index: Dicoogle against the fake (spec-checked in test_pacs_rest_dicoogle.py), Orthanc for real."""

from __future__ import annotations

import shutil
from pathlib import Path
from unittest import mock

import pydicom
import pytest

from library.pacs_index import main
from module_utils import pacs_rest
from tests.support import orthanc_container
from tests.support.fake_dicoogle import DEFAULT_PASSWORD, FakeDicoogle
from tests.support.fake_http import fake_server
from tests.support.module_runner import ok, run_module
from tests.support.synthetic_dicom import generate

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"
needs_orthanc = pytest.mark.skipif(not orthanc_container.available(), reason="Docker or the lab's images missing")


def dicoogle_args(server, **extra):
    base = {
        "engine": "dicoogle",
        "url": server.base_url,
        "uri": "file:/srv/pacs/images/froms3/",
        "dicoogle_username": "dicoogle",
        "dicoogle_password": DEFAULT_PASSWORD,
        "poll_interval": 0.01,
        "wait_timeout": 10,
        "retries": 0,
    }
    base.update(extra)
    return base


def test_dicoogle_index_waits_and_checks_the_studies():
    with fake_server(FakeDicoogle(n_indexed=7, known_studies=("1.2.3", "1.2.4"))) as server:
        result = ok(main, dicoogle_args(server, study_uids=["1.2.3", "1.2.4"]))
    assert result.changed and result["indexed"] == 7 and result["finished"]
    assert result["studies_found"] == ["1.2.3", "1.2.4"] and result["studies_missing"] == []


def test_dicoogle_index_of_what_it_holds_already_is_no_change():
    with fake_server(FakeDicoogle(n_indexed=0, known_studies=("1.2.3",))) as server:
        result = ok(main, dicoogle_args(server, study_uids=["1.2.3"]))
    assert not result.changed and result["indexed"] == 0 and result["finished"]
    with fake_server(FakeDicoogle(n_indexed=0)) as server:
        assert ok(main, dicoogle_args(server, wait=False)).changed


def test_dicoogle_missing_study_fails():
    with fake_server(FakeDicoogle(known_studies=("1.2.3",))) as server:
        result = run_module(main, dicoogle_args(server, study_uids=["1.2.3", "7.7.7"]))
    assert result.failed and result["studies_missing"] == ["7.7.7"]


def test_dicoogle_index_errors_fail_unless_allowed():
    with fake_server(FakeDicoogle(polls_until_done=1, n_errors=2)) as server:
        assert run_module(main, dicoogle_args(server)).failed
        assert ok(main, dicoogle_args(server, fail_on_errors=False))["errors"] == 2


def test_dicoogle_check_mode_starts_nothing():
    with fake_server(FakeDicoogle()) as server:
        result = ok(main, dicoogle_args(server), check_mode=True)
    assert result.changed and server.seen == []


def test_dicoogle_without_start_index_only_searches():
    args = {"engine": "dicoogle", "start_index": False, "retries": 0}
    with fake_server(FakeDicoogle(known_studies=("1.2.3",))) as server:
        found = ok(main, dict(args, url=server.base_url, study_uids=["1.2.3"]))
        missing = run_module(main, dict(args, url=server.base_url, study_uids=["1.2.3", "7.7.7"]))
    assert not found.changed and found["studies_found"] == ["1.2.3"] and found["indexed"] == 0
    assert missing.failed and missing["studies_missing"] == ["7.7.7"]
    assert {seen.path for seen in server.seen} == {"/search"}, "nothing but searches"
    with fake_server(FakeDicoogle()) as server:
        no_uri = run_module(main, {"engine": "dicoogle", "url": server.base_url})
    assert no_uri.failed and "uri is missing" in no_uri["msg"]


def test_dicoogle_timeout_fails():
    with fake_server(FakeDicoogle(polls_until_done=10**6)) as server:
        result = run_module(main, dicoogle_args(server, wait_timeout=0))
    assert result.failed and "did not finish" in result["msg"]


def test_unreachable_pacs_fails_with_the_reason(tmp_path):
    result = run_module(main, {"engine": "orthanc", "url": "http://127.0.0.1:9", "path": str(tmp_path), "retries": 0})
    assert result.failed and "127.0.0.1:9" in result["msg"]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    if not orthanc_container.available():
        pytest.skip("Docker or the lab's images missing")
    with orthanc_container.orthanc_container(tmp_path_factory.mktemp("orthanc-index")) as running:
        yield running


def orthanc_args(orthanc, path, **extra):
    base = {
        "engine": "orthanc",
        "url": orthanc.base_url,
        "ca_path": str(orthanc.ca_file),
        "url_username": orthanc.username,
        "url_password": orthanc.password,
        "path": str(path),
        "poll_interval": 0.1,
        "wait_timeout": 30,
    }
    base.update(extra)
    return base


@needs_orthanc
def test_orthanc_import_is_idempotent_and_checks_the_studies(orthanc, tmp_path):
    made = generate(tmp_path / "froms3", count=10, size=20_000, studies=3, series_per_study=2, seed="index-1")
    for ct in sorted(CT_DIR.glob("*.dcm")):
        shutil.copy(ct, tmp_path / "froms3" / ct.name)
    studies = sorted(
        {item.study_instance_uid for item in made}
        | {str(pydicom.dcmread(ct, stop_before_pixels=True).StudyInstanceUID) for ct in CT_DIR.glob("*.dcm")}
    )
    folder = tmp_path / "froms3"
    check = ok(main, orthanc_args(orthanc, folder), check_mode=True)
    assert check.changed and check["indexed"] == 12 and check["already_indexed"] == 0

    first = ok(main, orthanc_args(orthanc, folder, study_uids=studies))
    assert first.changed and first["indexed"] == 12 and first["new_instances"] == 12
    assert first["studies_found"] == studies and first["studies_missing"] == []
    assert orthanc.password not in str(first)

    again = ok(main, orthanc_args(orthanc, folder, study_uids=studies))
    assert not again.changed and again["indexed"] == 0 and again["already_indexed"] == 12
    check_again = ok(main, orthanc_args(orthanc, folder), check_mode=True)
    assert not check_again.changed and check_again["already_indexed"] == 12


@needs_orthanc
def test_orthanc_refused_files_fail_the_task_with_their_reason(orthanc, tmp_path):
    generate(tmp_path, count=1, size=5000, studies=1, series_per_study=1, seed="index-2")
    (tmp_path / "junk.bin").write_bytes(b"\0" * 300)
    result = run_module(main, orthanc_args(orthanc, tmp_path))
    assert result.failed and result["indexed"] == 1 and result["errors"] == 1
    assert result["rejected"][0]["path"].endswith("junk.bin")


@needs_orthanc
def test_orthanc_wrong_password_fails(orthanc, tmp_path):
    result = run_module(main, orthanc_args(orthanc, tmp_path, url_password="not-it"))  # noqa: S106
    assert result.failed and result["status"] == 401


@needs_orthanc
def test_orthanc_rerun_posts_only_the_files_it_does_not_hold(orthanc, tmp_path):
    folder = tmp_path / "froms3"
    generate(folder / "first", count=6, size=8000, studies=1, series_per_study=2, seed="index-held-1")
    ok(main, orthanc_args(orthanc, folder))
    generate(folder / "second", count=2, size=8000, studies=1, series_per_study=1, seed="index-held-2")
    posted = []
    real_import = pacs_rest.OrthancClient.import_files

    def recording(self, paths, progress=None):
        posted.append(list(paths))
        return real_import(self, paths, progress)

    with mock.patch.object(pacs_rest.OrthancClient, "import_files", recording):
        held = ok(main, orthanc_args(orthanc, folder))
        assert held.changed and held["indexed"] == 2 and held["already_indexed"] == 6 and held["submitted"] == 8
        assert [Path(p).parent.name for p in posted[-1]] == ["series000", "series000"]
        assert all("/second/" in p for p in posted[-1])
        every = ok(main, orthanc_args(orthanc, folder, skip_held=False))
    assert not every.changed and every["indexed"] == 0 and every["already_indexed"] == 8
    assert len(posted[-1]) == 8

"""The Orthanc REST client against a real Orthanc (the lab's image) behind the lab's nginx (TLS), basic auth.

Needs Docker and the lab's PACS and nginx images (tests/support/orthanc_container.py); skipped without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
import pytest

from module_utils.pacs_rest import OrthancClient, PacsRestError, RestTransport, make_client
from tests.support import orthanc_container
from tests.support.synthetic_dicom import generate
from tests.support.testpki import TestCA

CT_DIR = Path(__file__).resolve().parents[2] / "data" / "dicom"
WRONG = "not-the-password"  # noqa: S105

pytestmark = pytest.mark.skipif(
    not orthanc_container.available(), reason=f"Docker or the images {orthanc_container.images()} are not available"
)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    with orthanc_container.orthanc_container(tmp_path_factory.mktemp("orthanc")) as running:
        yield running


@pytest.fixture
def client(orthanc):
    return make_client("orthanc", orthanc.base_url, workers=4, **orthanc.transport_args())


def test_system_answers_over_verified_tls(client):
    system = client.system()
    assert system["Version"] == "1.10.1"
    assert system["Name"] == "INGEST-TEST"


def test_another_ca_is_refused(orthanc, tmp_path):
    other = TestCA(tmp_path, "not-orthancs-ca")
    rest = RestTransport(orthanc.base_url, ca_file=str(other.cert_path), username=orthanc.username, password=WRONG)
    with pytest.raises(PacsRestError, match="TLS"):
        OrthancClient(rest).system()


def test_a_wrong_password_is_a_401_not_retried(orthanc):
    rest = RestTransport(orthanc.base_url, ca_file=str(orthanc.ca_file), username=orthanc.username, password=WRONG)
    with pytest.raises(PacsRestError) as err:
        OrthancClient(rest).statistics()
    assert err.value.status == 401


def test_index_imports_the_folder_then_a_rerun_adds_nothing(client, tmp_path):
    folder = tmp_path / "landed"
    made = generate(folder / "synthetic", count=6, size=20_000, studies=2, series_per_study=2, seed="rest-orthanc-1")
    for ct in sorted(CT_DIR.glob("*.dcm")):
        shutil.copy(ct, folder / ct.name)
    studies = {item.study_instance_uid for item in made} | {
        str(pydicom.dcmread(ct, stop_before_pixels=True).StudyInstanceUID) for ct in CT_DIR.glob("*.dcm")
    }
    before = client.statistics()["CountInstances"]
    first = client.index(str(folder), timeout=30, poll_interval=0.1)
    assert first["submitted"] == 8 and first["indexed"] == 8 and first["already_indexed"] == 0
    assert first["errors"] == 0 and first["rejected"] == []
    assert first["finished"] and first["new_instances"] == 8
    assert client.statistics()["CountInstances"] == before + 8
    found, missing = client.find_studies(sorted(studies))
    assert missing == [] and len(found) == len(studies)

    again = client.index(str(folder), timeout=30, poll_interval=0.1)
    assert again["indexed"] == 0 and again["already_indexed"] == 8 and again["new_instances"] == 0
    assert client.statistics()["CountInstances"] == before + 8


def test_files_orthanc_refuses_are_reported_with_a_reason(client, tmp_path):
    (tmp_path / "notes.txt").write_text("not DICOM at all")
    (good,) = generate(tmp_path / "ok", count=1, size=10_000, studies=1, series_per_study=1, seed="rest-orthanc-2")
    result = client.index(str(tmp_path), timeout=30, poll_interval=0.1)
    assert result["indexed"] == 1 and result["errors"] == 1
    (failed,) = result["rejected"]
    assert failed["path"].endswith("notes.txt") and failed["reason"]


def test_find_by_uid_and_unknown_study(client, tmp_path):
    made = generate(tmp_path, count=2, size=10_000, studies=1, series_per_study=2, seed="rest-orthanc-3")
    client.index(str(tmp_path), timeout=30, poll_interval=0.1)
    study = made[0].study_instance_uid
    assert len(client.find("Series", {"StudyInstanceUID": study})) == 2
    assert client.find_studies([study, "1.2.3.4.5.6.7.8.9"]) == ([study], ["1.2.3.4.5.6.7.8.9"])


def test_changes_since_follows_pages(client, tmp_path):
    start = client.last_change()
    generate(tmp_path, count=3, size=10_000, studies=1, series_per_study=1, seed="rest-orthanc-4")
    client.index(str(tmp_path), timeout=30, poll_interval=0.1)
    changes, last = client.changes_since(start, limit=2)  # several pages of 2
    assert last == client.last_change() > start
    assert sum(1 for c in changes if c["ChangeType"] == "NewInstance") == 3

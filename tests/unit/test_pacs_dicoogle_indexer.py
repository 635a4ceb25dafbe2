"""The ingest requests' indexer of the PACS task (pacs-dicoogle-indexer, in the pacs-dicoogle image), run with
bash against a fake Dicoogle on loopback: what it asks Dicoogle, the record it writes, what it refuses."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.fake_dicoogle import FakeDicoogle
from tests.support.fake_http import Answer, fake_server

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "roles/container_images/files/pacs-dicoogle/pacs-dicoogle-indexer"


def run_once(landing: Path, records: Path, port: int, **env) -> subprocess.CompletedProcess:
    environment = dict(
        os.environ,
        PACS_INDEXER_LANDING=str(landing),
        PACS_INDEXER_RECORDS=str(records),
        PACS_DICOOGLE_WEB_PORT=str(port),
        PACS_INDEXER_POLL_SECONDS="0.05",
        **env,
    )
    return subprocess.run(  # noqa: S603 - the project's own script
        ["bash", str(SCRIPT), "--once"], env=environment, capture_output=True, text=True, timeout=60, check=True
    )


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "froms3"
    (folder / "study 1").mkdir(parents=True)
    (folder / "study 1" / "a.dcm").write_bytes(b"x" * 10)
    (folder / "b.dcm").write_bytes(b"y" * 7)
    (folder / ".pacs-ingest").mkdir()
    return folder


def request(landing: Path, name: str, lines: list[str]) -> Path:
    path = landing / ".pacs-ingest" / f"{name}.request"
    path.write_text("# s3_bulk_upload manifest 1\n" + "".join(f"{line}\n" for line in lines))
    return path


def port_of(server) -> int:
    return int(server.base_url.rsplit(":", 1)[1].rstrip("/"))


def test_a_landed_request_is_indexed_recorded_and_removed(landing, tmp_path):
    fake = FakeDicoogle(polls_until_done=2, n_indexed=2, n_errors=0, foreign_done_after=0)
    taken = request(landing, "20261205T1-ab", ["10 study 1/a.dcm", "7 b.dcm"])
    with fake_server(fake, host="127.0.0.1") as server:
        result = run_once(landing, tmp_path / "records", port_of(server))
    # Its log (CloudWatch on AWS) says what became of the request.
    assert "request 20261205T1-ab: indexed, 2 files" in result.stderr, result.stderr
    record = json.loads((tmp_path / "records" / "20261205T1-ab.json").read_text())
    assert record["status"] == "indexed" and record["files"] == 2 and record["uri"] == f"file:{landing}/"
    # A second pass, which adds nothing, ends it (Dicoogle can leave files out of a pass: see the script).
    assert [t["nIndexed"] for t in record["tasks"]] == [2, 0] and all(t["complete"] for t in record["tasks"])
    assert not taken.exists() and fake.closed == ["task-1", "task-2"]
    index = [s for s in server.seen if s.path == "/management/tasks/index"]
    assert [dict(s.query) for s in index] == [{"uri": f"file:{landing}/", "plugin": "lucene"}] * 2
    assert not list((tmp_path / "records").glob(".*.new")), "no half-written record is left"
    assert not list((tmp_path / "records" / ".queue").iterdir()), "the queue is empty"


def test_a_request_waits_for_its_files_then_gives_up(landing, tmp_path):
    fake = FakeDicoogle(foreign_done_after=0)
    waiting = request(landing, "r2", ["10 study 1/a.dcm", "99 b.dcm", "5 not-yet.dcm"])
    with fake_server(fake, host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server))
        queued = tmp_path / "records" / ".queue" / "r2.request"
        # Out of the landing folder at once (Dicoogle would read it), waiting in the queue.
        assert not waiting.exists() and queued.exists() and not (tmp_path / "records" / "r2.json").exists()
        run_once(landing, tmp_path / "records", port_of(server), PACS_INDEXER_FILES_WAIT_SECONDS="0")
    record = json.loads((tmp_path / "records" / "r2.json").read_text())
    assert record["status"] == "failed" and record["reason"].startswith("2 of 3 files had not landed")
    assert not queued.exists() and server.seen == []


def test_every_request_leaves_the_landing_folder_before_dicoogle_walks_it(landing, tmp_path):
    fake = FakeDicoogle(polls_until_done=1, foreign_done_after=0)
    inbox_at_index = []

    def handler(seen):
        if seen.path == "/management/tasks/index":
            inbox_at_index.append(sorted(p.name for p in (landing / ".pacs-ingest").iterdir()))
        return fake(seen)

    request(landing, "a-ready", ["7 b.dcm"])
    request(landing, "b-waiting", ["5 not-yet.dcm"])
    with fake_server(handler, host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server))
    assert inbox_at_index == [[], []], inbox_at_index
    assert json.loads((tmp_path / "records" / "a-ready.json").read_text())["status"] == "indexed"
    assert (tmp_path / "records" / ".queue" / "b-waiting.request").exists()
    assert server.seen


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (["10 ../outside.dcm"], "path leaves the landing folder"),
        (["10 study 1/./a.dcm"], "path leaves the landing folder"),
        (["ten study 1/a.dcm"], "line not '<size> <relative path>'"),
        (["10 /etc/passwd"], "line not '<size> <relative path>'"),
    ],
)
def test_a_request_it_cannot_read_is_refused(landing, tmp_path, lines, reason):
    with fake_server(FakeDicoogle(foreign_done_after=0), host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server))
        request(landing, "bad", lines)
        run_once(landing, tmp_path / "records", port_of(server))
    record = json.loads((tmp_path / "records" / "bad.json").read_text())
    assert record["status"] == "refused" and record["reason"].startswith(reason) and server.seen == []


def test_a_request_already_recorded_is_only_removed(landing, tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "again.json").write_text('{"status": "indexed"}\n')
    again = request(landing, "again", ["7 b.dcm"])
    with fake_server(FakeDicoogle(foreign_done_after=0), host="127.0.0.1") as server:
        run_once(landing, records, port_of(server))
    assert not again.exists() and server.seen == []
    assert json.loads((records / "again.json").read_text()) == {"status": "indexed"}


def test_dicoogle_refusing_the_index_is_recorded_as_failed(landing, tmp_path):
    request(landing, "refused-by-pacs", ["7 b.dcm"])

    def refusing(seen):
        if seen.method == "GET":
            return Answer(200, {"results": [], "count": 0})
        return Answer(500, {"error": "no"})

    with fake_server(refusing, host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server))
    record = json.loads((tmp_path / "records" / "refused-by-pacs.json").read_text())
    assert record["status"] == "failed" and "HTTP/1.0 500" in record["reason"], record


def test_a_badly_named_request_is_removed_without_a_record(landing, tmp_path):
    odd = landing / ".pacs-ingest" / "no good$.request"
    odd.write_text("7 b.dcm\n")
    with fake_server(FakeDicoogle(foreign_done_after=0), host="127.0.0.1") as server:
        result = run_once(landing, tmp_path / "records", port_of(server))
    assert not odd.exists() and [p.name for p in (tmp_path / "records").iterdir()] == [".queue"]
    assert server.seen == []
    assert "refused" in result.stderr


def test_it_waits_for_another_index_task_to_end_before_its_own(landing, tmp_path):
    """The start script's catch-up walks the same files: two tasks at once would split them."""
    fake = FakeDicoogle(polls_until_done=1, foreign_done_after=3)
    request(landing, "after-the-other", ["7 b.dcm"])
    with fake_server(fake, host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server))
    calls = [(s.method, s.path) for s in server.seen]
    started = calls.index(("POST", "/management/tasks/index"))
    assert calls[:started] == [("GET", "/index/task")] * 4, calls
    assert json.loads((tmp_path / "records" / "after-the-other.json").read_text())["status"] == "indexed"


def test_a_request_gives_up_when_another_index_task_never_ends(landing, tmp_path):
    request(landing, "blocked", ["7 b.dcm"])
    with fake_server(FakeDicoogle(), host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server), PACS_INDEXER_BUSY_WAIT_SECONDS="0")
    record = json.loads((tmp_path / "records" / "blocked.json").read_text())
    assert record["status"] == "failed" and record["reason"].startswith("another index task"), record
    assert ("POST", "/management/tasks/index") not in [(s.method, s.path) for s in server.seen]


def test_a_request_waits_while_dicoogle_does_not_answer(landing, tmp_path):
    request(landing, "pacs-down", ["7 b.dcm"])
    with fake_server(FakeDicoogle(), host="127.0.0.1") as server:
        closed = port_of(server)
    run_once(landing, tmp_path / "records", closed)
    assert (tmp_path / "records" / ".queue" / "pacs-down.request").exists()
    assert not (tmp_path / "records" / "pacs-down.json").exists()


def test_the_passes_are_bounded(landing, tmp_path):
    request(landing, "one-pass", ["7 b.dcm"])
    with fake_server(FakeDicoogle(polls_until_done=1, foreign_done_after=0), host="127.0.0.1") as server:
        run_once(landing, tmp_path / "records", port_of(server), PACS_INDEXER_MAX_PASSES="1")
    record = json.loads((tmp_path / "records" / "one-pass.json").read_text())
    assert record["status"] == "indexed" and [t["nIndexed"] for t in record["tasks"]] == [3]
    assert [s.path for s in server.seen].count("/management/tasks/index") == 1

"""pacs_peers_engine: the running engine's calling AE titles and move destinations made the wanted ones.

- Dicoogle against a fake on a real socket that keeps its state as Dicoogle does (move destinations listed,
  added and removed by AE title; the access list only written, never read). Every request the module made is
  checked against the project's record of Dicoogle's web API (tests/fixtures/dicoogle/web_api_3.5.1.yml),
  where the legacy settings servlet is a named exception. The real servlet answers with a redirect to the
  Referer; the fake answers what that redirect leads to (the module's own read of the AE title), and the
  Referer sent is checked. The real Dicoogle (the lab build) was tried by hand: see the module's notes.
- Orthanc against a fake that expands entries as Orthanc 1.10.1 does, and against the real Debian Orthanc
  1.10.1 (tests/support/orthanc_container.py; skipped without Docker or the lab's base image): the modalities
  the module leaves are those the role pacs_settings renders (filter pacs_settings_orthanc_modalities).
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

from library import pacs_peers_engine as engine_module
from library.pacs_peers_engine import ACCESS_LIST_PARAM, SERVER_AE_PARAM, DicoogleSettings, html_element_id, main
from module_utils.pacs_rest import PacsRestError, RestTransport
from tests.support import orthanc_container
from tests.support.fake_http import Answer, fake_server
from tests.support.module_runner import ok, run_module
from tests.support.plugins import load_role_filter
from tests.unit import test_aws_module_docs as module_docs

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "dicoogle" / "web_api_3.5.1.yml"
PACS_AET = "DICOOGLE-STORAGE"
LOGIN = "peers-admin"
PASSWORD = "Pw-peers-engine-test-4711"  # noqa: S105 - a fake server's login
STORAGE_NODE = {
    "aetitle": "STORAGE-NODE",
    "address": "127.0.0.1",
    "port": 17777,
    "description": "storage node storage.pacs.internal:7777 through the task's TLS tunnel",
}
MODALITY = {"aetitle": "MODALITY-1", "address": "127.0.0.1", "port": 17778, "description": "modality-1"}

settings_filters = load_role_filter("pacs_settings", "pacs_settings")


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text())


def declared(spec, method, path):
    """{name: required} of the query parameters of an operation, from `paths` and the named exceptions."""
    found = {}
    for section in ("paths", "not_in_openapi"):
        for name, location, required in (spec.get(section) or {}).get(path, {}).get(method.lower(), []):
            if location == "query":
                found[name] = required
    return found


# --- Dicoogle ------------------------------------------------------------------------------------------------


class FakeDicoogle:
    """Dicoogle's settings as its servlets keep them (ServerStorageServlet, AETitleServlet, SettingsServlet)."""

    def __init__(self, destinations=(STORAGE_NODE,), aetitle=PACS_AET, allowed=("DCMTK-CLIENT",)):
        self.aetitle = aetitle
        self.allowed = list(allowed)
        self.destinations = [self.as_dicoogle(d) for d in destinations]
        self.ignore_adds = False
        self.servlet_answer = None
        self.referers = []

    @staticmethod
    def as_dicoogle(entry):
        public = bool(entry.get("public", False))
        return {
            "AETitle": entry["aetitle"],
            "description": entry.get("description"),
            "ipAddrs": entry["address"],
            "isPublic": public,
            "port": int(entry["port"]),
            "public": public,
        }

    def __call__(self, seen):
        query = dict(seen.query)
        key = (seen.method, seen.path)
        if key == ("GET", "/management/settings/dicom"):
            return Answer(200, {"aetitle": self.aetitle})
        if key == ("GET", "/management/settings/storage/dicom"):
            return Answer(200, self.destinations)
        if key == ("POST", "/management/settings/storage/dicom"):
            try:
                port = int(query.get("port", ""))
            except ValueError:
                return Answer(400, {"error": "Illegal port parameter: must be a valid TCP port"})
            if query.get("type") == "add":
                if not self.ignore_adds:
                    entry = {"aetitle": query["aetitle"], "address": query["ip"], "port": port}
                    entry.update(description=query.get("description"), public=query.get("public") == "true")
                    self.destinations.append(self.as_dicoogle(entry))
                return Answer(200, {"added": True})
            if query.get("type") == "remove":
                before = len(self.destinations)
                self.destinations = [d for d in self.destinations if d["AETitle"] != query["aetitle"]]
                return Answer(200, {"removed": len(self.destinations) < before})
            return Answer(400, {"error": 'Illegal type parameter: must be either "add" or "remove"'})
        if key == ("POST", "/settings"):
            if query.get("action") != "setaccesslistsettings":
                return Answer(400, {"error": "Invalid action!"})
            self.aetitle = query.get(SERVER_AE_PARAM, self.aetitle)
            self.allowed = [value for name, value in seen.query if name == ACCESS_LIST_PARAM]
            self.referers.append(seen.headers.get("Referer"))
            if self.servlet_answer is not None:
                return self.servlet_answer
            # What the servlet's redirect to the Referer (the module's GET of the AE title) answers.
            return Answer(200, {"aetitle": self.aetitle})
        return Answer(404, {})

    def destination_aets(self):
        return [d["AETitle"] for d in self.destinations]


def dicoogle_args(server, **extra):
    base = {
        "engine": "dicoogle",
        "url": server.base_url,
        "login": LOGIN,
        "password": PASSWORD,
        "aetitle": PACS_AET,
        "allowed_aets": ["DCMTK-CLIENT"],
        "known_allowed_aets": ["DCMTK-CLIENT"],
        "move_destinations": [STORAGE_NODE],
        "retries": 0,
    }
    base.update(extra)
    return base


def changes(server):
    return [(seen.method, seen.path, dict(seen.query).get("type")) for seen in server.seen if seen.method != "GET"]


def test_the_servlets_field_names_are_the_labels_encoded_as_dicoogle_does():
    assert SERVER_AE_PARAM == "ServerAETitle"
    assert ACCESS_LIST_PARAM == "ClientPermitAccessListClientAETitle[]"
    assert html_element_id("  1st label (x)  ") == "s1stlabelx"
    assert html_element_id("a-b_c d") == "a-b_cd"


def test_every_call_the_module_can_make_is_in_the_spec_or_a_named_exception(spec):
    for method, path, names in DicoogleSettings.CALLS:
        params = declared(spec, method, path)
        assert params or method.lower() in spec["paths"].get(path, {}), f"{method} {path} is not recorded"
        assert set(names) <= set(params), f"{method} {path}: {set(names) - set(params)} not recorded"
    # The exceptions are only what the module needs beyond the OpenAPI description, and not in it.
    exceptions = spec["not_in_openapi"]
    assert set(exceptions) == {"/settings", "/management/settings/storage/dicom"}
    assert "/settings" not in spec["paths"]
    openapi_storage = {name for name, _, _ in spec["paths"]["/management/settings/storage/dicom"]["post"]}
    extra_storage = {name for name, _, _ in exceptions["/management/settings/storage/dicom"]["post"]}
    assert extra_storage == {"description", "public"} and not extra_storage & openapi_storage


def check_requests(spec, server):
    problems = []
    for seen in server.seen:
        params = declared(spec, seen.method, seen.path)
        sent = {name for name, _ in seen.query}
        problems += [f"{seen.method} {seen.path}: {name} not recorded" for name in sent - set(params)]
        problems += [
            f"{seen.method} {seen.path}: required {name} not sent"
            for name, required in params.items()
            if required and name not in sent
        ]
    return problems


def test_dicoogle_a_new_peer_is_added_at_runtime(spec):
    fake = FakeDicoogle()
    with fake_server(fake) as server:
        result = ok(
            main,
            dicoogle_args(
                server,
                allowed_aets=["DCMTK-CLIENT", "MODALITY-1"],
                move_destinations=[STORAGE_NODE, MODALITY],
            ),
        )
    assert result.changed and result["engine"] == "dicoogle"
    assert result["allowed_aets_before"] == ["DCMTK-CLIENT"]
    assert result["allowed_aets_after"] == ["DCMTK-CLIENT", "MODALITY-1"]
    assert result["allowed_aets_set"] is True
    assert result["destinations_added"] == [dict(MODALITY, public=False)]
    assert result["destinations_removed"] == []
    assert fake.allowed == ["DCMTK-CLIENT", "MODALITY-1"] and fake.aetitle == PACS_AET
    assert fake.destination_aets() == ["STORAGE-NODE", "MODALITY-1"]
    assert fake.destinations[1]["description"] == "modality-1" and fake.destinations[1]["public"] is False
    # The servlet's redirect goes back to the module's own read of the AE title.
    assert fake.referers == [server.base_url + "/management/settings/dicom"]
    assert check_requests(spec, server) == []
    # Basic credentials on every request; no Dicoogle session (its login takes the password in the URL).
    assert all(seen.headers.get("Authorization", "").startswith("Basic ") for seen in server.seen)
    assert "/login" not in {seen.path for seen in server.seen}
    assert PASSWORD not in json.dumps(result)


def test_dicoogle_a_removed_peer_goes_and_the_others_stay(spec):
    fake = FakeDicoogle(destinations=(STORAGE_NODE, MODALITY), allowed=("DCMTK-CLIENT", "MODALITY-1"))
    with fake_server(fake) as server:
        result = ok(main, dicoogle_args(server, known_allowed_aets=["DCMTK-CLIENT", "MODALITY-1"]))
    assert result.changed and result["allowed_aets_set"]
    assert result["destinations_removed"] == [dict(MODALITY, public=False)] and result["destinations_added"] == []
    assert fake.allowed == ["DCMTK-CLIENT"] and fake.destination_aets() == ["STORAGE-NODE"]
    assert changes(server) == [
        ("POST", "/settings", None),
        ("POST", "/management/settings/storage/dicom", "remove"),
    ]
    assert check_requests(spec, server) == []


def test_dicoogle_nothing_to_do_is_no_change():
    fake = FakeDicoogle(destinations=(STORAGE_NODE, MODALITY), allowed=("DCMTK-CLIENT", "MODALITY-1"))
    with fake_server(fake) as server:
        result = ok(
            main,
            dicoogle_args(
                server,
                allowed_aets=["DCMTK-CLIENT", "MODALITY-1"],
                known_allowed_aets=["MODALITY-1", "DCMTK-CLIENT"],  # order does not matter to Dicoogle
                move_destinations=[MODALITY, STORAGE_NODE],
            ),
        )
    assert not result.changed and not result["allowed_aets_set"]
    assert result["destinations_added"] == [] and result["destinations_removed"] == []
    assert changes(server) == []


def test_dicoogle_unknown_allowed_aets_are_sent():
    fake = FakeDicoogle(allowed=("SOMETHING-ELSE",))
    with fake_server(fake) as server:
        result = ok(main, dicoogle_args(server, known_allowed_aets=None))
    assert result.changed and result["allowed_aets_set"] and result["allowed_aets_before"] is None
    assert fake.allowed == ["DCMTK-CLIENT"]
    assert changes(server) == [("POST", "/settings", None)]


def test_dicoogle_a_changed_destination_is_removed_and_added_again():
    moved = dict(STORAGE_NODE, port=17999)
    fake = FakeDicoogle()
    with fake_server(fake) as server:
        result = ok(main, dicoogle_args(server, move_destinations=[moved]))
    assert result.changed and not result["allowed_aets_set"]
    assert result["destinations_removed"] == [dict(STORAGE_NODE, public=False)]
    assert result["destinations_added"] == [dict(moved, public=False)]
    assert [d["port"] for d in fake.destinations] == [17999]
    assert changes(server) == [
        ("POST", "/management/settings/storage/dicom", "remove"),
        ("POST", "/management/settings/storage/dicom", "add"),
    ]


def test_dicoogle_a_destination_listed_twice_by_dicoogle_is_made_one():
    fake = FakeDicoogle(destinations=(STORAGE_NODE, STORAGE_NODE))
    with fake_server(fake) as server:
        result = ok(main, dicoogle_args(server))
    assert result.changed and len(fake.destinations) == 1


def test_dicoogle_check_mode_changes_nothing():
    fake = FakeDicoogle()
    with fake_server(fake) as server:
        result = ok(
            main,
            dicoogle_args(
                server, allowed_aets=["DCMTK-CLIENT", "MODALITY-1"], move_destinations=[STORAGE_NODE, MODALITY]
            ),
            check_mode=True,
        )
    assert result.changed and result["allowed_aets_set"]
    assert result["destinations_added"] == [dict(MODALITY, public=False)]
    assert {seen.method for seen in server.seen} == {"GET"}
    assert fake.allowed == ["DCMTK-CLIENT"] and fake.destination_aets() == ["STORAGE-NODE"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"aetitle": "OTHER-PACS"}, "the engine's AE title is 'DICOOGLE-STORAGE', not 'OTHER-PACS' (aetitle)"),
        ({"aetitle": None}, "aetitle is required with engine dicoogle"),
        ({"allowed_aets": []}, "allowed_aets must not be empty with engine dicoogle"),
        ({"allowed_aets": ["DCMTK-CLIENT", "A" * 17]}, "allowed_aets[1] must be 1-16 characters"),
        ({"allowed_aets": ["BACK\\SLASH"]}, "allowed_aets[0] must not contain a backslash"),
        ({"allowed_aets": [" LEADING"]}, "allowed_aets[0] must not start or end with a space"),
        ({"allowed_aets": ["X", "X"]}, "allowed_aets must not list an AE title twice"),
        ({"known_allowed_aets": ["   "]}, "known_allowed_aets[0] must not be only spaces"),
        ({"move_destinations": [STORAGE_NODE, STORAGE_NODE]}, "move_destinations[1].aetitle 'STORAGE-NODE' is listed"),
        ({"move_destinations": [dict(STORAGE_NODE, port=0)]}, "move_destinations[0].port must be 1-65535"),
        ({"move_destinations": [dict(STORAGE_NODE, address="a b")]}, "move_destinations[0].address must be a host"),
    ],
    ids=lambda value: str(value)[:40],
)
def test_dicoogle_bad_inputs_and_the_wrong_engine_are_refused_by_name(extra, words):
    fake = FakeDicoogle()
    with fake_server(fake) as server:
        result = run_module(main, dicoogle_args(server, **extra))
    assert result.failed and words in result["msg"], result["msg"]
    assert changes(server) == []


def test_dicoogle_refused_login_is_named():
    def gate(seen):
        return Answer(401, {"error": "login"})

    with fake_server(gate) as server:
        result = run_module(main, dicoogle_args(server))
    assert result.failed and result["status"] == 401
    assert "reading Dicoogle's AE title" in result["msg"] and "login and password refused?" in result["msg"]
    assert PASSWORD not in result["msg"]


def test_dicoogle_unreachable_is_named():
    args = {
        "engine": "dicoogle",
        "url": "http://127.0.0.1:9",
        "aetitle": PACS_AET,
        "allowed_aets": ["DCMTK-CLIENT"],
        "move_destinations": [],
        "retries": 0,
    }
    failed = run_module(main, args)
    assert failed.failed and "dicoogle at http://127.0.0.1:9: reading Dicoogle's AE title" in failed["msg"]


def test_dicoogle_an_add_it_did_not_take_fails_after_the_read_back():
    fake = FakeDicoogle()
    fake.ignore_adds = True
    with fake_server(fake) as server:
        result = run_module(main, dicoogle_args(server, move_destinations=[STORAGE_NODE, MODALITY]))
    assert result.failed and "Dicoogle's move destinations after the change are" in result["msg"]


def test_dicoogle_a_servlet_answer_that_is_not_the_redirect_fails_and_says_what_was_done():
    fake = FakeDicoogle(destinations=(STORAGE_NODE, MODALITY))
    fake.servlet_answer = Answer(500, {"error": "index.jsp"})
    with fake_server(fake) as server:
        result = run_module(main, dicoogle_args(server, known_allowed_aets=None))
    assert result.failed and "setting Dicoogle's allowed calling AE titles" in result["msg"]
    assert "done before: nothing" in result["msg"]
    fake = FakeDicoogle()
    fake.servlet_answer = Answer(200, {"something": "else"})
    with fake_server(fake) as server:
        result = run_module(main, dicoogle_args(server, known_allowed_aets=None))
    assert result.failed and "expected its redirect to GET /management/settings/dicom" in result["msg"]


def test_dicoogle_a_failure_halfway_says_what_was_done():
    fake = FakeDicoogle(destinations=(STORAGE_NODE, MODALITY))
    original = fake.__call__

    def refuse_adds(seen):
        if dict(seen.query).get("type") == "add":
            return Answer(400, {"error": "Illegal port parameter: must be a valid TCP port"})
        return original(seen)

    with fake_server(refuse_adds) as server:
        result = run_module(
            main, dicoogle_args(server, known_allowed_aets=None, move_destinations=[dict(STORAGE_NODE, port=17999)])
        )
    assert result.failed and result["status"] == 400
    assert "adding move destination STORAGE-NODE" in result["msg"]
    assert (
        "done before: allowed calling AE titles set; destination STORAGE-NODE removed; destination MODALITY-1 removed"
        in (result["msg"])
    )


def test_the_module_refuses_calls_it_does_not_declare():
    settings = DicoogleSettings(RestTransport("http://127.0.0.1:9", retries=0))
    with pytest.raises(PacsRestError, match="does not make"):
        settings._request("DELETE", "/management/settings/storage/dicom")
    with pytest.raises(PacsRestError, match="takes no parameter"):
        settings._request("POST", "/settings", [("action", "setadvancedsettings"), ("Indexing Effort", "1")])


# --- Orthanc -------------------------------------------------------------------------------------------------

ORTHANC_DEFAULTS = {
    "AllowTranscoding": True,
    "LocalAet": "",
    "Manufacturer": "Generic",
    "Timeout": 0,
    "UseDicomTls": False,
}


class FakeOrthanc:
    """Orthanc 1.10.1's /modalities: PUT takes an entry, the expanded GET adds its defaults and answers
    AllowStorageCommitment as AllowNAction and AllowEventReport."""

    def __init__(self, modalities=None, aet=PACS_AET):
        self.aet = aet
        self.modalities = {}
        self.ignore_puts = False
        for name, entry in (modalities or {}).items():
            self.put(name, entry)

    def put(self, name, entry):
        stored = dict(ORTHANC_DEFAULTS)
        stored.update({k: v for k, v in entry.items() if k != "AllowStorageCommitment"})
        commitment = entry.get("AllowStorageCommitment", False)
        stored.update(AllowNAction=commitment, AllowEventReport=commitment)
        self.modalities[name] = stored

    def __call__(self, seen):
        if (seen.method, seen.path) == ("GET", "/system"):
            return Answer(200, {"DicomAet": self.aet, "Version": "1.10.1"})
        if (seen.method, seen.path) == ("GET", "/modalities"):
            if "expand" in dict(seen.query):
                return Answer(200, self.modalities)
            return Answer(200, list(self.modalities))
        if seen.path.startswith("/modalities/"):
            name = urllib.parse.unquote(seen.path.split("/", 2)[2])
            if seen.method == "PUT":
                if not self.ignore_puts:
                    self.put(name, json.loads(seen.body))
                return Answer(200, {})
            if seen.method == "DELETE":
                if name not in self.modalities:
                    return Answer(404, {"Message": "Unknown modality"})
                del self.modalities[name]
                return Answer(200, {})
        return Answer(404, {})


def rendered(callers, destinations):
    """The DicomModalities the role pacs_settings renders for these inputs."""
    return settings_filters.pacs_settings_orthanc_modalities(callers, destinations, "127.0.0.1", 104, False)


def orthanc_args(url, **extra):
    base = {
        "engine": "orthanc",
        "url": url,
        "aetitle": PACS_AET,
        "allowed_aets": ["DCMTK-CLIENT"],
        "move_destinations": [STORAGE_NODE],
        "retries": 0,
    }
    base.update(extra)
    return base


def assert_as_rendered(live, callers, destinations):
    wanted = rendered(callers, destinations)
    assert set(live) == set(wanted)
    for name, entry in wanted.items():
        mine = engine_module.orthanc_modalities(callers, destinations, "127.0.0.1", 104)[name]
        assert mine == entry, "the module's entry is not the rendered one"
        assert engine_module.orthanc_entry_matches(live[name], entry), (name, live[name], entry)


@pytest.mark.parametrize(
    ("callers", "destinations"),
    [
        (["DCMTK-CLIENT"], [STORAGE_NODE]),
        (["DCMTK-CLIENT", "MODALITY-1"], [STORAGE_NODE, MODALITY]),
        ([], [STORAGE_NODE]),
        (["A", "B"], []),
    ],
)
def test_the_modules_modalities_are_the_rendered_ones(callers, destinations):
    assert engine_module.orthanc_modalities(callers, destinations, "127.0.0.1", 104) == rendered(callers, destinations)
    elsewhere = settings_filters.pacs_settings_orthanc_modalities(callers, destinations, "10.0.0.9", 11112, False)
    assert engine_module.orthanc_modalities(callers, destinations, "10.0.0.9", 11112) == elsewhere


def test_orthanc_add_unchanged_remove():
    fake = FakeOrthanc(rendered(["DCMTK-CLIENT"], [STORAGE_NODE]))
    both = {"allowed_aets": ["DCMTK-CLIENT", "MODALITY-1"], "move_destinations": [STORAGE_NODE, MODALITY]}
    with fake_server(fake) as server:
        added = ok(main, orthanc_args(server.base_url, **both))
        assert_as_rendered(fake.modalities, both["allowed_aets"], both["move_destinations"])
        again = ok(main, orthanc_args(server.base_url, **both))
        removed = ok(main, orthanc_args(server.base_url))
    assert added.changed and added["modalities_put"] == ["MODALITY-1"] and added["modalities_deleted"] == []
    assert added["allowed_aets_before"] == ["DCMTK-CLIENT"]
    assert added["allowed_aets_after"] == ["DCMTK-CLIENT", "MODALITY-1"] and added["allowed_aets_set"] is False
    assert added["destinations_added"] == [{"aetitle": "MODALITY-1", "address": "127.0.0.1", "port": 17778,
                                           "description": "", "public": False}]  # fmt: skip
    assert not again.changed and again["modalities_put"] == [] and again["modalities_deleted"] == []
    assert removed.changed and removed["modalities_deleted"] == ["MODALITY-1"] and removed["modalities_put"] == []
    assert [d["aetitle"] for d in removed["destinations_removed"]] == ["MODALITY-1"]
    assert_as_rendered(fake.modalities, ["DCMTK-CLIENT"], [STORAGE_NODE])


def test_orthanc_a_caller_becoming_a_destination_is_put_again_and_strangers_go():
    fake = FakeOrthanc(rendered(["DCMTK-CLIENT", "MODALITY-1"], [STORAGE_NODE]))
    fake.put("BY-HAND", {"AET": "BY-HAND", "Host": "10.1.1.1", "Port": 104, "AllowStore": True})
    with fake_server(fake) as server:
        result = ok(
            main,
            orthanc_args(
                server.base_url,
                allowed_aets=["DCMTK-CLIENT", "MODALITY-1"],
                move_destinations=[STORAGE_NODE, MODALITY],
            ),
        )
    assert result["modalities_put"] == ["MODALITY-1"] and result["modalities_deleted"] == ["BY-HAND"]
    assert result["allowed_aets_before"] == ["DCMTK-CLIENT", "MODALITY-1", "BY-HAND"]
    assert [d["aetitle"] for d in result["destinations_removed"]] == ["BY-HAND"]
    assert_as_rendered(fake.modalities, ["DCMTK-CLIENT", "MODALITY-1"], [STORAGE_NODE, MODALITY])


def test_orthanc_check_mode_changes_nothing():
    fake = FakeOrthanc(rendered(["DCMTK-CLIENT"], [STORAGE_NODE]))
    with fake_server(fake) as server:
        result = ok(main, orthanc_args(server.base_url, allowed_aets=["DCMTK-CLIENT", "MODALITY-1"]), check_mode=True)
    assert result.changed and result["modalities_put"] == ["MODALITY-1"]
    assert {seen.method for seen in server.seen} == {"GET"}
    assert set(fake.modalities) == {"DCMTK-CLIENT", "STORAGE-NODE"}


def test_orthanc_errors_are_named():
    with fake_server(FakeOrthanc(aet="SOMEONE-ELSE")) as server:
        wrong = run_module(main, orthanc_args(server.base_url))
    assert wrong.failed and "the engine's AE title is 'SOMEONE-ELSE', not 'DICOOGLE-STORAGE'" in wrong["msg"]
    fake = FakeOrthanc()
    fake.ignore_puts = True
    with fake_server(fake) as server:
        ignored = run_module(main, orthanc_args(server.base_url))
    assert ignored.failed and "differ from the wanted ones: DCMTK-CLIENT, STORAGE-NODE" in ignored["msg"]

    def refuse(seen):
        return Answer(403, {}) if seen.method == "PUT" else FakeOrthanc()(seen)

    with fake_server(refuse) as server:
        refused = run_module(main, orthanc_args(server.base_url))
    assert refused.failed and refused["status"] == 403
    assert "putting modality STORAGE-NODE" in refused["msg"] and "done before: nothing" in refused["msg"]
    # Orthanc may run without a login, and without the AE title check.
    with fake_server(FakeOrthanc()) as server:
        bare = ok(main, {k: v for k, v in orthanc_args(server.base_url).items() if k != "aetitle"})
    assert bare.changed and "/system" not in {seen.path for seen in server.seen}
    assert not any("Authorization" in seen.headers for seen in server.seen)


# --- The real Orthanc ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    if not orthanc_container.available():
        pytest.skip("Docker or the lab's images missing")
    with orthanc_container.orthanc_container(tmp_path_factory.mktemp("orthanc-peers")) as running:
        yield running


def test_the_real_orthanc_takes_the_modalities_at_runtime(orthanc):
    """Debian's Orthanc 1.10.1, DicomModalitiesInDatabase false (its default): PUT and DELETE of /modalities
    work while it runs, and what it keeps is the rendered shape."""
    base = {
        "engine": "orthanc",
        "url": orthanc.base_url,
        "ca_path": str(orthanc.ca_file),
        "login": orthanc.username,
        "password": orthanc.password,
        "aetitle": "PACS",
    }
    both = {"allowed_aets": ["DCMTK-CLIENT", "MODALITY-1"], "move_destinations": [STORAGE_NODE, MODALITY]}
    one = {"allowed_aets": ["DCMTK-CLIENT"], "move_destinations": [STORAGE_NODE]}
    rest = RestTransport(orthanc.base_url, **orthanc.transport_args())
    first = ok(main, dict(base, **one))
    assert first.changed and sorted(first["modalities_put"]) == ["DCMTK-CLIENT", "STORAGE-NODE"]
    assert_as_rendered(rest.json("GET", "/modalities", query=[("expand", "")]), **_as_inputs(one))
    added = ok(main, dict(base, **both))
    assert added.changed and added["modalities_put"] == ["MODALITY-1"]
    assert_as_rendered(rest.json("GET", "/modalities", query=[("expand", "")]), **_as_inputs(both))
    assert not ok(main, dict(base, **both)).changed
    checked = ok(main, dict(base, **one), check_mode=True)
    assert checked.changed and checked["modalities_deleted"] == ["MODALITY-1"]
    assert "MODALITY-1" in rest.json("GET", "/modalities")
    removed = ok(main, dict(base, **one))
    assert removed.changed and removed["modalities_deleted"] == ["MODALITY-1"]
    assert_as_rendered(rest.json("GET", "/modalities", query=[("expand", "")]), **_as_inputs(one))
    assert not ok(main, dict(base, **one)).changed


def _as_inputs(wanted):
    return {"callers": wanted["allowed_aets"], "destinations": wanted["move_destinations"]}


# --- Documentation -------------------------------------------------------------------------------------------


def test_the_documentation_is_what_the_project_checks_of_its_modules():
    """tests/unit/test_aws_module_docs.py checks a fixed list of modules; the same checks, on this one.

    Its walk takes any key `description` for prose, so the suboption of that name is set aside first.
    """
    docs = module_docs.doc_strings("pacs_peers_engine")
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = docs["DOCUMENTATION"]
    assert documentation["module"] == "pacs_peers_engine"
    suboptions = documentation["options"]["move_destinations"]["suboptions"]
    suboptions["description_suboption"] = suboptions.pop("description")
    assert module_docs.descriptions_are_text(documentation, "DOCUMENTATION") == []
    assert module_docs.descriptions_are_text(docs["RETURN"], "RETURN") == []
    assert isinstance(docs["EXAMPLES"], list) and docs["EXAMPLES"]
    for option, spec in documentation["options"].items():
        assert "type" in spec, f"option {option} has no type"
    for key, spec in docs["RETURN"].items():
        assert {"description", "returned", "type"} <= set(spec), f"return value {key} is incomplete"
    module_docs.test_every_argument_is_documented("pacs_peers_engine")


def test_the_documented_options_are_the_argument_spec(monkeypatch):
    captured = {}

    class Captured(Exception):
        pass

    def capture(argument_spec, **kwargs):
        captured.update(argument_spec)
        raise Captured

    monkeypatch.setattr(engine_module, "AnsibleModule", capture)
    with pytest.raises(Captured):
        main()
    documented = module_docs.doc_strings("pacs_peers_engine")["DOCUMENTATION"]["options"]

    def compare(spec, docs, where):
        assert set(spec) == set(docs), where
        for name, option in spec.items():
            doc = docs[name]
            for key in ("type", "elements", "choices"):
                assert option.get(key) == doc.get(key), f"{where}.{name}: {key}"
            assert bool(option.get("required")) == bool(doc.get("required")), f"{where}.{name}: required"
            assert option.get("default") == doc.get("default"), f"{where}.{name}: default"
            if "options" in option:
                compare(option["options"], doc["suboptions"], f"{where}.{name}")

    compare(captured, documented, "options")
    assert captured["password"]["no_log"] is True

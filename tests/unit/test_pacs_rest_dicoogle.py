"""The Dicoogle REST client against Dicoogle's web API (its operations and parameters, written down by the
project from Dicoogle's OpenAPI description: tests/fixtures/dicoogle/web_api_3.5.1.yml; the running
Dicoogle is checked in tests/integration/test_dicoogle.py).

Every request the client can make (DicoogleClient.CALLS) must exist in the spec with that method, and every
query parameter it may send must be declared there, in the query. Then the client runs a whole ingest's worth
of calls against a fake Dicoogle on a real socket, and every request the fake received is checked against the
spec the same way, including the spec's required parameters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from module_utils.pacs_rest import DicoogleClient, PacsRestError, RestTransport
from tests.support.fake_dicoogle import DEFAULT_PASSWORD, WRONG_PASSWORD, FakeDicoogle
from tests.support.fake_http import fake_server

SPEC_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "dicoogle" / "web_api_3.5.1.yml"
HTTP_METHODS = {"get", "post", "put", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC_PATH.read_text())


def declared_parameters(spec, method, path):
    """{(name, location): required} of an operation; KeyError if absent."""
    return {(name, location): required for name, location, required in spec["paths"][path][method.lower()]}


def check_request(spec, method, path, query_names):
    """Problems of one request against the spec (empty when it conforms)."""
    if path not in spec["paths"]:
        return [f"{method} {path}: path not in the spec"]
    if method.lower() not in set(spec["paths"][path]) & HTTP_METHODS:
        return [f"{method} {path}: method not in the spec"]
    declared = declared_parameters(spec, method, path)
    problems = [
        f"{method} {path}: query parameter {name!r} not declared"
        for name in query_names
        if (name, "query") not in declared
    ]
    problems += [
        f"{method} {path}: required {location} parameter {name!r} not sent"
        for (name, location), required in declared.items()
        if required and location == "query" and name not in query_names
    ]
    return problems


def test_the_spec_is_the_one_the_project_pins(spec):
    assert spec["version"] == "3.5.1"
    assert "/management/tasks/index" in spec["paths"] and "/index/task" in spec["paths"]


@pytest.mark.parametrize(("method", "path", "names"), DicoogleClient.CALLS, ids=lambda v: str(v))
def test_every_call_the_client_can_make_is_in_the_spec(spec, method, path, names):
    assert path in spec["paths"], f"{path} is not a Dicoogle path"
    assert method.lower() in spec["paths"][path], f"Dicoogle has no {method} {path}"
    declared = declared_parameters(spec, method, path)
    for name in names:
        assert (name, "query") in declared, f"{method} {path}: {name} is not a declared query parameter"


def test_the_checker_catches_what_the_spec_does_not_declare(spec):
    # The check must be able to fail: a made-up path, a wrong method, an undeclared or missing parameter.
    assert check_request(spec, "GET", "/management/tasks/reindex", [])
    assert check_request(spec, "DELETE", "/index/task", [])
    assert check_request(spec, "GET", "/search", ["query", "keyword"])
    assert check_request(spec, "POST", "/management/tasks/index", ["plugin"])  # uri is required
    assert check_request(spec, "GET", "/search", ["query"]) == []


def client_for(server, **kwargs):
    transport = RestTransport(server.base_url, timeout=5, retries=1, sleep=lambda s: None)
    return DicoogleClient(transport, sleep=lambda s: None, **kwargs)


def test_an_ingest_sends_only_what_the_spec_declares(spec):
    fake = FakeDicoogle()
    with fake_server(fake) as server:
        client = client_for(server, login="dicoogle", password=DEFAULT_PASSWORD)
        result = client.index("file:/srv/pacs/images/froms3/", timeout=10, poll_interval=0.01)
        client.search('StudyInstanceUID:"1.2.3"', dim=True)
        found, missing = client.find_studies(["1.2.3", "9.9.9"])
    problems = [
        p for seen in server.seen for p in check_request(spec, seen.method, seen.path, [n for n, _ in seen.query])
    ]
    assert problems == []
    made = {(seen.method, seen.path) for seen in server.seen}
    assert made == {(method, path) for method, path, _ in DicoogleClient.CALLS}, "some call of the client went untested"
    assert result["indexed"] == 3 and result["errors"] == 0 and result["finished"] and result["submitted"] == 1
    assert fake.closed == ["task-1"]
    assert (found, missing) == (["1.2.3"], ["9.9.9"])
    # The token from the login goes with the later calls, the index URI as given.
    index_call = next(s for s in server.seen if s.path == "/management/tasks/index")
    assert index_call.headers.get("Authorization") == "tok-123"
    assert dict(index_call.query) == {"uri": "file:/srv/pacs/images/froms3/", "plugin": "lucene"}


def test_several_uris_repeat_the_uri_parameter(spec):
    with fake_server(FakeDicoogle()) as server:
        client_for(server).start_index(["file:/a/", "file:/b/"])
    (seen,) = server.seen
    assert [v for n, v in seen.query if n == "uri"] == ["file:/a/", "file:/b/"]
    assert check_request(spec, seen.method, seen.path, [n for n, _ in seen.query]) == []


def test_wrong_login_fails_and_sends_no_index():
    with fake_server(FakeDicoogle()) as server:
        client = client_for(server, login="dicoogle", password=WRONG_PASSWORD)
        with pytest.raises(PacsRestError) as err:
            client.index("file:/x/", timeout=1)
    assert err.value.status == 401
    assert WRONG_PASSWORD not in str(err.value), "the password leaked into the error"
    assert [s.path for s in server.seen] == ["/login"]


def test_a_task_that_does_not_finish_is_reported_unfinished_and_kept():
    fake = FakeDicoogle(polls_until_done=10**6)
    with fake_server(fake) as server:
        result = client_for(server).index("file:/x/", timeout=0.2, poll_interval=0.05)
    assert result["finished"] is False
    assert fake.closed == []


def test_errors_are_summed():
    with fake_server(FakeDicoogle(polls_until_done=1, n_indexed=5, n_errors=2)) as server:
        result = client_for(server).index("file:/x/", timeout=5, poll_interval=0.01)
    assert (result["indexed"], result["errors"]) == (5, 2)


def test_the_client_refuses_calls_it_does_not_declare():
    client = DicoogleClient(RestTransport("http://127.0.0.1:9", retries=0))
    with pytest.raises(PacsRestError, match="does not make"):
        client._call("DELETE", "/user/dicoogle")
    with pytest.raises(PacsRestError, match="takes no parameter"):
        client._call("GET", "/search", [("query", "x"), ("keyword", "true")])

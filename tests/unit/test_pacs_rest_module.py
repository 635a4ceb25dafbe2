"""module_utils/pacs_rest.py's part for modules: the options, the client and the failure message that
library/pacs_index.py and library/pacs_peers_engine.py share."""

from __future__ import annotations

import pytest

from library import pacs_index, pacs_peers_engine
from module_utils import pacs_rest
from tests.support.fake_http import Answer, fake_server
from tests.support.module_runner import run_module


class Failed(Exception):
    pass


class FakeModule:
    """What the helpers use of AnsibleModule: params and fail_json (which does not return)."""

    def __init__(self, **params):
        self.params = {
            "engine": "orthanc",
            "url": "https://127.0.0.1:8443",
            "ca_path": None,
            "validate_certs": True,
            "request_timeout": 30.0,
            "retries": 3,
            **params,
        }
        self.failure = None

    def fail_json(self, **result):
        self.failure = result
        raise Failed(result["msg"])


def test_the_options_are_engine_url_tls_timeout_and_retries():
    options = pacs_rest.module_options(request_timeout=45)
    assert set(options) == {"engine", "url", "ca_path", "validate_certs", "request_timeout", "retries"}
    assert options["engine"] == {"type": "str", "required": True, "choices": ["dicoogle", "orthanc"]}
    assert options["request_timeout"] == {"type": "float", "default": 45}
    assert options["retries"] == {"type": "int", "default": 3}
    assert pacs_rest.module_options(1) is not pacs_rest.module_options(1)  # each module gets its own dicts


def test_the_client_is_built_from_the_options():
    module = FakeModule(engine="dicoogle", request_timeout=7.5, retries=1, validate_certs=False)
    logins = {"username": "web", "password": "pw", "login": "dicoogle", "login_password": "x"}  # a fake server's
    client = pacs_rest.module_client(module, **logins)
    assert isinstance(client, pacs_rest.DicoogleClient)
    transport = client.transport
    assert transport.base_url == "https://127.0.0.1:8443"
    assert (transport.timeout, transport.retries, transport.basic_auth) == (7.5, 1, True)
    orthanc = pacs_rest.module_client(FakeModule(), username=None, password=None, workers=2)
    assert isinstance(orthanc, pacs_rest.OrthancClient) and not orthanc.transport.basic_auth


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"url": "ftp://pacs"}, "must be http(s)://host"),
        ({"retries": -1}, "retries must be 0 or more"),
        ({"engine": "conquest"}, "engine must be one of dicoogle, orthanc"),
    ],
)
def test_a_bad_option_fails_the_module(params, words):
    module = FakeModule(**params)
    with pytest.raises(Failed):
        pacs_rest.module_client(module, username=None, password=None)
    assert words in module.failure["msg"]


def test_the_failure_names_the_engine_the_url_and_the_status():
    module = FakeModule(engine="dicoogle")
    with pytest.raises(Failed):
        pacs_rest.module_fail(module, pacs_rest.PacsRestError("GET /x: HTTP 401", status=401), " (hint)")
    assert module.failure == {"msg": "dicoogle at https://127.0.0.1:8443: GET /x: HTTP 401 (hint)", "status": 401}
    with pytest.raises(Failed):
        pacs_rest.module_fail(module, ValueError("no status"))
    assert module.failure == {"msg": "dicoogle at https://127.0.0.1:8443: no status", "status": None}


def refuse(seen):
    return Answer(status=401, body=b"no")


@pytest.mark.parametrize(
    ("main", "args", "hint"),
    [
        (pacs_index.main, {"engine": "orthanc", "path": "/", "start_index": False, "study_uids": ["1.2"]}, False),
        (pacs_peers_engine.main, {"engine": "orthanc", "allowed_aets": ["A"], "move_destinations": []}, True),
    ],
    ids=["pacs_index", "pacs_peers_engine"],
)
def test_both_modules_fail_a_refused_request_the_same_way(main, args, hint):
    with fake_server(refuse) as server:
        result = run_module(main, {**args, "url": server.base_url, "retries": 0})
    assert result.failed and result["status"] == 401
    assert result["msg"].startswith(f"orthanc at {server.base_url}: ")
    assert result["msg"].endswith(" (login and password refused?)") is hint

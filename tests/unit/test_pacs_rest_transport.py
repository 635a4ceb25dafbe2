"""RestTransport on real sockets: TLS checked against a CA file, basic auth, timeouts, bounded retries."""

from __future__ import annotations

import socket

import pytest

from module_utils.pacs_rest import PacsRestError, RestTransport
from tests.support.fake_http import Answer, fake_server
from tests.support.testpki import TestCA

SECRET = "s3cret-pass"  # noqa: S105 - test value


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    ca = TestCA(folder, "rest-ca")
    other = TestCA(folder, "other-ca")
    return ca, other, ca.issue("pacs-web", dns_names=("localhost",))


def ok_handler(seen):
    return Answer(200, {"path": seen.path})


def transport(server, **kwargs):
    kwargs.setdefault("sleep", lambda s: None)
    return RestTransport(server.base_url, **kwargs)


def test_tls_with_the_right_ca_and_basic_auth(pki):
    ca, _, cert = pki
    with fake_server(ok_handler, cert=cert) as server:
        answer = transport(server, ca_file=str(ca.cert_path), username="admin", password=SECRET).json("GET", "/system")
    assert answer == {"path": "/system"}
    (seen,) = server.seen
    assert seen.headers["Authorization"].startswith("Basic ")
    import base64

    assert base64.b64decode(seen.headers["Authorization"][6:]).decode() == f"admin:{SECRET}"


def test_tls_with_another_ca_is_refused_and_not_retried(pki):
    _, other, cert = pki
    with fake_server(ok_handler, cert=cert) as server, pytest.raises(PacsRestError, match="TLS"):
        transport(server, ca_file=str(other.cert_path), retries=3).json("GET", "/system")
    assert server.seen == []


def test_a_name_the_certificate_does_not_hold_is_refused(pki):
    ca, _, cert = pki
    with (
        fake_server(ok_handler, cert=cert, host="127.0.0.1") as server,
        pytest.raises(PacsRestError, match="TLS"),
    ):  # the certificate names localhost only
        transport(server, ca_file=str(ca.cert_path)).json("GET", "/system")


def test_validate_certs_false_skips_the_check(pki):
    _, other, cert = pki
    with fake_server(ok_handler, cert=cert) as server:
        assert transport(server, ca_file=str(other.cert_path), validate_certs=False).json("GET", "/x") == {"path": "/x"}


def test_busy_server_is_retried_with_growing_pauses():
    answers = iter([Answer(503, {}), Answer(502, {}), Answer(200, {"ok": True})])
    pauses = []
    with fake_server(lambda seen: next(answers)) as server:
        result = transport(server, retries=3, backoff=0.5, sleep=pauses.append).json("POST", "/tools/find", payload={})
    assert result == {"ok": True}
    assert pauses == [0.5, 1.0]
    assert len(server.seen) == 3


def test_retries_are_bounded():
    with (
        fake_server(lambda seen: Answer(503, {})) as server,
        pytest.raises(PacsRestError, match="gave up after 3 attempts"),
    ):
        transport(server, retries=2).json("GET", "/statistics")
    assert len(server.seen) == 3


def test_client_errors_are_not_retried_and_carry_the_status():
    with (
        fake_server(lambda seen: Answer(404, {"Message": "Unknown resource"})) as server,
        pytest.raises(PacsRestError) as err,
    ):
        transport(server, retries=5).json("GET", "/studies/nope")
    assert err.value.status == 404 and b"Unknown resource" in err.value.body
    assert len(server.seen) == 1


def test_a_slow_answer_times_out_and_a_get_is_retried():
    with (
        fake_server(lambda seen: Answer(200, {}, delay=1.0)) as server,
        pytest.raises(PacsRestError, match="gave up after 2 attempts"),
    ):
        transport(server, timeout=0.2, retries=1).json("GET", "/system")
    assert len(server.seen) == 2


def test_a_slow_post_that_may_have_been_done_is_not_sent_again():
    with fake_server(lambda seen: Answer(200, {}, delay=1.0)) as server, pytest.raises(PacsRestError):
        transport(server, timeout=0.2, retries=3).request("POST", "/management/tasks/index", query={"uri": "x"})
    assert len(server.seen) == 1


def test_a_refused_connection_is_retried_even_for_a_post():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pauses = []
    rest = RestTransport(f"http://127.0.0.1:{port}", retries=2, sleep=pauses.append)
    with pytest.raises(PacsRestError, match="gave up after 3 attempts"):
        rest.request("POST", "/instances", body=b"x")
    assert len(pauses) == 2


def test_passwords_in_the_query_are_hidden_in_errors():
    with fake_server(lambda seen: Answer(401, {})) as server, pytest.raises(PacsRestError) as err:
        transport(server).request("POST", "/login", query=[("username", "u"), ("password", SECRET)])
    assert SECRET not in str(err.value) and SECRET not in (err.value.url or "")


@pytest.mark.parametrize("url", ["ftp://host/", "localhost:8042", "https://"])
def test_bad_base_urls_are_refused(url):
    with pytest.raises(ValueError):
        RestTransport(url)

"""The DIMSE edges' admission policy (filter_plugins/pacs_edge_policy.py): its text, parsing it back, and the
real ghostunnel v1.8.4 enforcing it.

The ghostunnel tests run an edge as the task definition describes it (roles/pacs_task): the container's
entry point (the TLS wrapper) writes the certificate, key, CA and policy from the TLS_* variables its
secrets give, then execs ghostunnel with the definition's --allow-policy/--allow-query; only the binary's
path and the addresses are the test's (127.0.0.1, free ports, an echo server in this process as the
engine). A new policy is applied as the lab's in-place rotation does: the entry point again with the
command `true`, then SIGHUP. Each ghostunnel is stopped by its pid when its test (or module) ends, and
every wait is bounded. The binary comes from set-up (`./lab up` builds .lab/bin/ghostunnel-v1.8.4); without
it these tests fail and say so, they are never skipped.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tests.support.plugins import load_plugin
from tests.support.testpki import TestCA
from tests.unit.test_pacs_task_definition import by_name, definition
from tests.unit.test_pacs_task_definition import spec as task_spec

policy = load_plugin("filter_plugins/pacs_edge_policy.py", "pacs_edge_policy")

ROOT = Path(__file__).resolve().parents[2]
GHOSTUNNEL = ROOT / ".lab" / "bin" / "ghostunnel-v1.8.4"
# A CN that would break out of a naively quoted rego string.
ODD_CN = 'o"brien\\ é ] ; default storage := true #'
# 128-bit serials differ from their float64 rounding: the decimal strings must be compared exactly.
BIG = 2**127 + 12345


# --- the text -------------------------------------------------------------------------------------


def test_the_text_is_a_function_of_the_sets_only():
    text = policy.pacs_edge_policy(
        {"storage": ["b", "a", "b"], "query": ["a"], "revoked_serials": ["0042", 7, str(BIG), str(BIG)]}
    )
    same = policy.pacs_edge_policy({"query": ["a", "a"], "storage": ["a", "b"], "revoked_serials": [str(BIG), "7", 42]})
    assert text == same
    lines = text.splitlines()
    assert 'storage_identities := ["a", "b"]' in lines
    assert 'query_identities := ["a"]' in lines
    assert f'revoked_serials := ["7", "42", "{BIG}"]' in lines, "canonical decimals, in numeric order"
    assert lines.count("package pacs.edge") == 1 and text.endswith("\n")
    assert "import future.keywords.if" in lines and "import future.keywords.in" in lines
    assert "default storage := false" in lines and "default query := false" in lines


def test_revoked_serials_may_be_left_out():
    assert policy.pacs_edge_policy({"storage": ["a"], "query": []}) == policy.pacs_edge_policy(
        {"storage": ["a"], "query": [], "revoked_serials": []}
    )


@pytest.mark.parametrize(
    "edge",
    [
        {"storage": ["dicom-client"], "query": ["dicom-client"], "revoked_serials": []},
        {"storage": [], "query": [], "revoked_serials": []},
        {"storage": ["modality-1", "dicom-client"], "query": ["modality-1"], "revoked_serials": [str(BIG), "1"]},
        {"storage": [ODD_CN, "line\nbreak", "tab\tand \\u0041", "😀"], "query": ['"'], "revoked_serials": ["0"]},
    ],
    ids=["default", "empty", "peers", "odd-cns"],
)
def test_the_text_parses_back_to_its_sets(edge):
    text = policy.pacs_edge_policy(edge)
    parsed = policy.pacs_edge_policy_parse(text)
    assert parsed == {
        "storage": sorted(set(edge["storage"])),
        "query": sorted(set(edge["query"])),
        "revoked_serials": sorted({str(int(s)) for s in edge["revoked_serials"]}, key=int),
    }
    assert policy.pacs_edge_policy(parsed) == text
    # What `docker exec cat` gives back may lose or gain the final newline.
    assert policy.pacs_edge_policy_parse(text.rstrip("\n")) == parsed
    assert policy.pacs_edge_policy_parse(text + "\n") == parsed


def test_cns_are_escaped_as_json_on_one_line():
    text = policy.pacs_edge_policy({"storage": [ODD_CN, "line\nbreak"], "query": [], "revoked_serials": []})
    assert text.isascii(), "non-ASCII as \\u escapes"
    (line,) = [line for line in text.splitlines() if line.startswith("storage_identities := ")]
    assert json.loads(line.split(" := ", 1)[1]) == sorted([ODD_CN, "line\nbreak"])
    assert "default storage := true" not in text.replace(json.dumps(ODD_CN), "")
    assert len(text.splitlines()) == len(policy.pacs_edge_policy({"storage": [], "query": []}).splitlines())


def test_empty_lists_are_empty_arrays():
    text = policy.pacs_edge_policy({"storage": [], "query": [], "revoked_serials": []})
    for name in ("storage_identities", "query_identities", "revoked_serials"):
        assert f"{name} := []" in text.splitlines()


@pytest.mark.parametrize(
    ("edge", "words"),
    [
        (["dicom-client"], "must be a mapping"),
        ({"storage": ["a"]}, "needs query"),
        ({"storage": "a", "query": []}, "storage must be a list"),
        ({"storage": ["a", ""], "query": []}, "holds ''"),
        ({"storage": [1], "query": []}, "holds 1"),
        ({"storage": [], "query": [], "revoked_serials": ["61793FB1"]}, "int(base=16)"),
        ({"storage": [], "query": [], "revoked_serials": [-1]}, "holds -1"),
        ({"storage": [], "query": [], "revoked_serials": [True]}, "holds True"),
        ({"storage": [], "query": [], "revoked_serials": "1"}, "revoked_serials must be a list"),
        ({"storage": [], "query": [], "allow": ["a"]}, "unknown keys allow"),
    ],
)
def test_inputs_it_cannot_write_are_refused(edge, words):
    assert any(words in p for p in policy.pacs_edge_policy_problems(edge)), policy.pacs_edge_policy_problems(edge)
    with pytest.raises(ValueError, match=re.escape(words)):
        policy.pacs_edge_policy(edge)


RENDERED = policy.pacs_edge_policy({"storage": ["a"], "query": ["a"], "revoked_serials": ["5"]})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"bytes", "needs the policy's text"),
        ("", "no storage_identities, query_identities, revoked_serials line"),
        ("package ghostunnel\nallow := true\n", "not an edge policy rendered by pacs_edge_policy"),
        (RENDERED.replace('query_identities := ["a"]', "query_identities := [a]"), "not a JSON array"),
        (RENDERED + "query if true\n", "line 29 is 'query if true', expected '<end of text>'"),
        (RENDERED.replace("\tnot revoked\n", "", 1), "line 19 is '}', expected '\\tnot revoked'"),
        (RENDERED.replace('["5"]', '["05"]'), "line 11 is 'revoked_serials"),
        (RENDERED.replace('["a"]', '["b", "a"]', 1), "line 9"),
        (RENDERED + 'storage_identities := ["b"]\n', "defines storage_identities twice"),
        (RENDERED.replace('["5"]', '["x"]'), "lists are not valid"),
    ],
)
def test_text_it_did_not_render_is_refused(text, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        policy.pacs_edge_policy_parse(text)


def test_the_task_definition_asks_the_policys_queries():
    """roles/pacs_task's filter cannot import this plugin: it repeats the queries, checked here."""
    assert definition.EDGE_QUERIES == policy.QUERIES
    c = by_name(definition.pacs_task_containers(task_spec()))
    for port in ("storage", "query"):
        assert f"--allow-query={policy.QUERIES[port]}" in c[f"ghostunnel-{port}"]["command"]
        assert f"--allow-policy=/run/pacs-tls/{definition.EDGE_POLICY_FILE}" in c[f"ghostunnel-{port}"]["command"]


def test_the_filter_module_lists_its_filters():
    assert set(policy.FilterModule().filters()) == {
        "pacs_edge_policy",
        "pacs_edge_policy_parse",
        "pacs_edge_policy_problems",
    }


# --- the real ghostunnel --------------------------------------------------------------------------

WAIT = 15  # seconds: the longest any wait of these tests may take


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture(scope="module")
def binary() -> Path:
    if not GHOSTUNNEL.exists():
        pytest.fail(
            f"{GHOSTUNNEL} is missing: these tests run the real ghostunnel v1.8.4, which set-up builds "
            "(./lab up, or ./lab test). They are not skipped: without the binary the edge policy is untested."
        )
    version = subprocess.run([str(GHOSTUNNEL), "--version"], capture_output=True, text=True, timeout=WAIT)
    assert "v1.8.4" in version.stdout + version.stderr, version
    return GHOSTUNNEL


@pytest.fixture(scope="module")
def echo():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The edge's certificate and the clients', with their decimal serials. Two carry CN modality-1:
    `revoked` (its serial is in the policies' revoked list) and `modality-1` (a later one)."""
    folder = tmp_path_factory.mktemp("edge-pki")
    ca = TestCA(folder, "edge-ca")
    server = ca.issue("pacs-edge", dns_names=("localhost",), client=False)
    clients = {}
    for name, cn in [
        ("revoked", "modality-1"),
        ("modality-1", "modality-1"),
        ("dicom-client", "dicom-client"),
        ("store-only", "store-only"),
        ("query-only", "query-only"),
        ("intruder", "intruder"),
        ("odd", ODD_CN),
    ]:
        cert, key = ca.issue(cn, server=False)
        # issue() names the files by CN: keep each pair under the client's own name.
        cert, key = cert.rename(folder / f"client-{name}.crt"), key.rename(folder / f"client-{name}.key")
        serial = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
        clients[name] = {"cert": cert, "key": key, "serial": str(serial)}
    assert clients["revoked"]["serial"] != clients["modality-1"]["serial"]
    # The revoked certificate's neighbour: the same CN and key, its serial one more. Above 2**53 only an
    # exact comparison tells them apart (float64 arithmetic in rego would not).
    revoked = x509.load_pem_x509_certificate(clients["revoked"]["cert"].read_bytes())
    neighbour = (
        x509.CertificateBuilder(extensions=list(revoked.extensions))
        .subject_name(revoked.subject)
        .issuer_name(revoked.issuer)
        .public_key(revoked.public_key())
        .serial_number(revoked.serial_number + 1)
        .not_valid_before(revoked.not_valid_before_utc)
        .not_valid_after(revoked.not_valid_after_utc)
        .sign(ca.key, hashes.SHA256())
    )
    assert revoked.serial_number > 2**64
    path = folder / "client-neighbour.crt"
    path.write_bytes(neighbour.public_bytes(serialization.Encoding.PEM))
    clients["neighbour"] = {"cert": path, "key": clients["revoked"]["key"], "serial": str(neighbour.serial_number)}
    return {"ca": ca.cert_path, "server": server, "clients": clients}


def _edge(pki, storage, query, revoked=("revoked",)):
    return {
        "storage": list(storage),
        "query": list(query),
        "revoked_serials": [pki["clients"][name]["serial"] for name in revoked],
    }


class Edge:
    """One edge container of the task definition, run on 127.0.0.1 by its entry point."""

    def __init__(self, binary, pki, echo, folder: Path, name: str, rego: str):
        self.folder, self.name = folder, name
        self.tls_dir = folder / "tls"
        self.port = _free_port()
        ports = dict(task_spec()["ports"], storage_tls=self.port, query_tls=self.port)
        spec = task_spec(tls_dir=str(self.tls_dir), ports=ports, dimse_targets={"storage": echo, "query": echo})
        container = by_name(definition.pacs_task_containers(spec))[name]
        self.entry = container["entryPoint"]
        assert [s["name"] for s in container["secrets"]] == [
            "TLS_CA_CERTIFICATE",
            "TLS_CERTIFICATE",
            "TLS_EDGE_POLICY",
            "TLS_PRIVATE_KEY",
        ]
        command = [str(binary)] + [
            arg.replace("--listen=0.0.0.0:", "--listen=127.0.0.1:") for arg in container["command"][1:]
        ]
        # Bounded: a stopped edge waits this long for open connections (ghostunnel's default is 5 minutes).
        command.append("--shutdown-timeout=1s")
        cert, key = pki["server"]
        self.env = {
            "PATH": "/usr/bin:/bin",
            "TLS_CA_CERTIFICATE": pki["ca"].read_text(),
            "TLS_CERTIFICATE": cert.read_text(),
            "TLS_PRIVATE_KEY": key.read_text(),
        }
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.entry + command,
            env=dict(self.env, TLS_EDGE_POLICY=rego),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} ended with {self.proc.returncode}:\n{self.log()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not listen on 127.0.0.1:{self.port} in {WAIT} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rotate(self, rego: str):
        """The lab's in-place rotation: the entry point again (command `true`) with the TLS_* variables,
        then SIGHUP to the running ghostunnel."""
        done = subprocess.run(
            self.entry + ["true"],
            env=dict(self.env, TLS_EDGE_POLICY=rego),
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert (self.tls_dir / "edge.rego").read_text() == rego
        os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=WAIT)
        self._log.close()


@pytest.fixture
def start_edge(binary, pki, echo, tmp_path):
    """start_edge(name, rego): an edge (ghostunnel-storage or ghostunnel-query) with that policy text."""
    started = []

    def start(name, rego):
        folder = tmp_path / f"{name}-{len(started)}"
        folder.mkdir()
        started.append(Edge(binary, pki, echo, folder, name, rego))
        return started[-1]

    try:
        yield start
    finally:
        for edge in started:
            edge.stop()


def _connect(pki, client: str, port: int) -> ssl.SSLSocket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki["ca"])
    context.load_cert_chain(pki["clients"][client]["cert"], pki["clients"][client]["key"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return context.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def _round_trip(conn: ssl.SSLSocket, payload: bytes) -> bool:
    """One line through the edge to the echo server and back (TLS 1.3: a refused client certificate
    shows here, on the first read, as an alert or the end of the stream)."""
    conn.sendall(payload + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            return False
        got += chunk
    return got == payload + b"\n"


def admitted(pki, client: str, port: int) -> bool:
    try:
        with _connect(pki, client, port) as conn:
            return _round_trip(conn, f"ping from {client}".encode())
    except (ssl.SSLError, OSError):
        return False


def _until(condition, what: str, edge: Edge):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {WAIT} s\n{edge.log()}")


def test_each_port_lets_in_only_its_identities(start_edge, pki):
    rego = policy.pacs_edge_policy(
        _edge(pki, ["dicom-client", "store-only", "modality-1", ODD_CN], ["dicom-client", "query-only", "modality-1"])
    )
    storage, query = start_edge("ghostunnel-storage", rego), start_edge("ghostunnel-query", rego)
    expected = {
        "dicom-client": (True, True),
        "store-only": (True, False),
        "query-only": (False, True),
        "modality-1": (True, True),
        "odd": (True, False),
        "intruder": (False, False),
    }
    got = {name: (admitted(pki, name, storage.port), admitted(pki, name, query.port)) for name in expected}
    assert got == expected
    for edge in (storage, query):
        assert "principal not allowed" in edge.log(), edge.log()


def test_a_revoked_serial_is_refused_while_the_same_cn_with_another_serial_gets_in(start_edge, pki):
    rego = policy.pacs_edge_policy(_edge(pki, ["modality-1"], ["modality-1"]))
    assert pki["clients"]["revoked"]["serial"] in rego
    for name in ("ghostunnel-storage", "ghostunnel-query"):
        edge = start_edge(name, rego)
        assert admitted(pki, "modality-1", edge.port)
        assert admitted(pki, "neighbour", edge.port), "serial + 1: exact comparison, not float64"
        assert not admitted(pki, "revoked", edge.port)
    # Without the serial in the list, the same certificate gets in: the serial is what refused it.
    unrevoked = start_edge("ghostunnel-storage", policy.pacs_edge_policy(_edge(pki, ["modality-1"], [], revoked=())))
    assert admitted(pki, "revoked", unrevoked.port)


def test_a_new_policy_applies_on_sighup_and_open_connections_keep_passing_bytes(start_edge, pki):
    before = policy.pacs_edge_policy(_edge(pki, ["dicom-client", "modality-1"], []))
    after = policy.pacs_edge_policy(_edge(pki, ["dicom-client"], []))
    edge = start_edge("ghostunnel-storage", before)
    held = {name: _connect(pki, name, edge.port) for name in ("modality-1", "dicom-client")}
    try:
        for name, conn in held.items():
            assert _round_trip(conn, f"{name} before".encode()), name
        edge.rotate(after)
        _until(lambda: not admitted(pki, "modality-1", edge.port), "modality-1 refused after SIGHUP", edge)
        assert admitted(pki, "dicom-client", edge.port)
        assert "received hangup" in edge.log() and "error reloading OPA policy" not in edge.log()
        # The policy is checked at the handshake: connections already open carry on, the removed CN's too.
        for name, conn in held.items():
            for n in range(3):
                assert _round_trip(conn, f"{name} after {n}".encode()), name
    finally:
        for conn in held.values():
            conn.close()


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda text: text.replace("sprintf(", "no_such_function("), id="undefined-function"),
        pytest.param(lambda text: text.replace("storage if {", "storage if {{"), id="syntax"),
    ],
)
def test_a_policy_that_does_not_compile_leaves_the_old_one_in_force(start_edge, pki, breakage):
    before = policy.pacs_edge_policy(_edge(pki, ["dicom-client", "modality-1"], []))
    broken = breakage(policy.pacs_edge_policy(_edge(pki, ["dicom-client"], [])))
    edge = start_edge("ghostunnel-storage", before)
    edge.rotate(broken)
    _until(lambda: "error reloading OPA policy" in edge.log(), "the failed reload logged", edge)
    # The broken text would have refused modality-1 had it compiled: the old policy still lets it in.
    assert admitted(pki, "modality-1", edge.port)
    assert admitted(pki, "dicom-client", edge.port)
    assert not admitted(pki, "intruder", edge.port)
    assert edge.proc.poll() is None, "the edge keeps running"

"""The DICOM peers' part of collect.yml's report (templates/collect_report.json.j2 and .md.j2), rendered
by Ansible with the lab inventory's variables (pacs_peers and what group_vars derive from it) and
made-up readings: the peers' certificates, what each DIMSE edge lets in (collect_edges, as collect.yml
notes it after reading the live policy), and the peers' record (the last peers.yml run).

Each case is one render of both templates, in one ansible-playbook run; the tests check the report's
`peers`, `edge_admission` and `peers_record` keys and the drift messages, word for word. The live side
(docker exec, the edge-policy secret, --allow-cn command lines) is the integration tests' (collect.yml
against the lab, tests/integration/test_day_two.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.ansible_run import run_playbook

DEPLOYMENT = "pacs-lab"
STORAGE_PORT, QUERY_PORT = 16666, 11045
FAR = "20991231235959Z"  # a certificate far from its renewal window
BIG_SERIAL = str(2**127 + 12345)  # a 128-bit serial: compared as a decimal string, every digit

PLAYBOOK = """
- name: Render collect.yml's report for each case
  hosts: controller
  gather_facts: false
  tasks:
    - name: Note the inventory's peer list (the cases add to it)
      ansible.builtin.set_fact:
        pacs_peers_default: "{{ pacs_peers }}"

    - name: Render the JSON report
      ansible.builtin.set_fact:
        collect_test_reports: "{{ collect_test_reports | default({}) | combine({item.key: _report}) }}"
      vars:
        _report: "{{ lookup('ansible.builtin.template', templates ~ '/collect_report.json.j2') | from_json }}"
        pacs_peers: "{{ pacs_peers_default + item.value.add_peers | default([]) }}"
        collect_desired_certs: "{{ item.value.certs }}"
        collect_edges: "{{ item.value.edges }}"
        collect_peers_record: "{{ item.value.record }}"
        collect_edge_policy_current: "{{ item.value.current_policy | default({}) }}"
      loop: "{{ cases | dict2items }}"
      loop_control:
        label: "{{ item.key }}"

    - name: Render the Markdown report
      ansible.builtin.set_fact:
        collect_test_markdown: "{{ collect_test_markdown | default({}) | combine({item.key: _markdown}) }}"
      vars:
        _markdown: "{{ lookup('ansible.builtin.template', templates ~ '/collect_report.md.j2') }}"
        collect_report: "{{ item.value }}"
      loop: "{{ collect_test_reports | dict2items }}"
      loop_control:
        label: "{{ item.key }}"

    - name: Write the reports for the test
      ansible.builtin.copy:
        content: "{{ {'json': collect_test_reports, 'md': collect_test_markdown} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""

MODALITY = {
    "name": "modality-1",
    "ae_title": "MODALITY-1",
    "roles": ["store-scu", "query-scu"],
}


def cert(name: str, not_after: str = FAR) -> dict:
    return {"fingerprint_sha256": name.ljust(64, "0")[:64], "not_after": not_after, "subject": {"commonName": name}}


def certs(*names: str) -> dict:
    return {name: cert(name) for name in ("ca", "pacs-edge", "admin-web", *names)}


def edge(port_name: str, identities, revoked=(), **extra) -> dict:
    container = f"{DEPLOYMENT}-ghostunnel-{port_name}"
    found = {
        "container": container,
        "port_name": port_name,
        "port": STORAGE_PORT if port_name == "storage" else QUERY_PORT,
        "query": port_name,
        "source": "policy file /run/pacs-tls/edge.rego",
        "text": "",
        "allow_cns": None,
        "identities": identities,
        "revoked_serials": list(revoked) if identities is not None else None,
        "error": "",
    }
    return {**found, **extra}


def applied(*names: str) -> list:
    """The record's applied summaries of the default list's peers (as role pacs_peers writes them)."""
    known = {
        "dicom-client": {
            "name": "dicom-client",
            "ae_title": "DCMTK-CLIENT",
            "roles": ["store-scu", "query-scu"],
            "identity": "dicom-client",
        },
        "storage-node": {
            "name": "storage-node",
            "ae_title": "STORAGE-NODE",
            "roles": ["move-destination"],
            "identity": "storage-node",
            "host": "storage.pacs.internal",
            "port": 7777,
            "forward_port": 17777,
        },
        "old-peer": {"name": "old-peer", "ae_title": "OLD", "roles": ["store-scu"], "identity": "old-peer"},
    }
    return [known[name] for name in names]


REVOKED = {
    "name": "old-peer",
    "identity": "old-peer",
    "serial": BIG_SERIAL,
    "not_after": "2099-12-31T23:59:59Z",
    "not_after_epoch": 4102444799,
}
EXPIRED = dict(REVOKED, serial="77", not_after="2001-01-01T00:00:00Z", not_after_epoch=978307200)
CLEAN_EDGES = [edge("storage", ["dicom-client"], [BIG_SERIAL]), edge("query", ["dicom-client"], [BIG_SERIAL])]
RECORD = {"applied": applied("dicom-client", "storage-node"), "revoked": [REVOKED, EXPIRED]}

CASES = {
    "clean": {"certs": certs("dicom-client", "storage-node"), "edges": CLEAN_EDGES, "record": RECORD},
    "extra_at_edge": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [edge("storage", ["dicom-client", "modality-1"], [BIG_SERIAL]), CLEAN_EDGES[1]],
        "record": RECORD,
    },
    "revoked_missing": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [edge("storage", ["dicom-client"], []), CLEAN_EDGES[1]],
        "record": RECORD,
    },
    "allow_cn_edges": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [
            edge("storage", ["dicom-client"], [], source="command line (--allow-cn)", allow_cns=["dicom-client"]),
            edge("query", ["dicom-client"], [], source="command line (--allow-cn)", allow_cns=["dicom-client"]),
        ],
        "record": {"applied": applied("dicom-client", "storage-node"), "revoked": []},
    },
    "list_edited_not_applied": {
        "add_peers": [MODALITY],
        "certs": certs("dicom-client", "storage-node"),
        "edges": CLEAN_EDGES,
        "record": {"applied": applied("dicom-client", "storage-node", "old-peer"), "revoked": [REVOKED]},
    },
    "no_record": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": CLEAN_EDGES,
        "record": {"applied": None, "revoked": []},
    },
    "edge_not_read": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [
            edge("storage", None, error="not read by pacs_edge_policy_parse: the edge policy is not as rendered"),
            CLEAN_EDGES[1],
        ],
        "record": RECORD,
    },
    "aws_policy_not_rolled_out": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [
            edge("storage", ["dicom-client"], [BIG_SERIAL], version="v-old", text="old policy"),
            edge("query", ["dicom-client"], [BIG_SERIAL], version="v-old", text="new policy"),
        ],
        "record": RECORD,
        "current_policy": {"policy": "new policy"},
    },
    "lab_policy_not_rolled_out": {
        "certs": certs("dicom-client", "storage-node"),
        "edges": [
            edge("storage", ["dicom-client"], [BIG_SERIAL], text="new policy"),
            edge("query", ["dicom-client"], [BIG_SERIAL], text="old policy\n"),
        ],
        "record": RECORD,
        "current_policy": {"policy": "new policy\n"},
    },
    "renewal_due": {
        "certs": {**certs("storage-node"), "dicom-client": cert("dicom-client", "20000101000000Z")},
        "edges": CLEAN_EDGES,
        "record": RECORD,
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    base: Path = tmp_path_factory.mktemp("collect_report")
    playbook = base / "render.yml"
    playbook.write_text(PLAYBOOK)
    out = base / "reports.json"
    root = Path(__file__).resolve().parents[2]
    extra = {
        "cases": CASES,
        "templates": str(root / "templates"),
        "out": str(out),
        "collect_started": "2030-01-01T00:00:00Z",
        "collect_renew_before_days": 30,
        "collect_tls": {"results": []},
        "collect_containers": {"results": []},
        "collect_stamps": {"results": []},
    }
    args = ["-e", json.dumps(extra)]
    run = run_playbook(str(playbook), *args, timeout=600)
    assert run.returncode == 0, run.report()
    return json.loads(out.read_text())


def drift_of(report: dict, *prefixes: str) -> list[str]:
    """The drift items of the peers' part ("where: what")."""
    prefixes = prefixes or ("DIMSE edge ", "peer ", "pacs_peers")
    return [f"{d['where']}: {d['what']}" for d in report["drift"] if d["where"].startswith(prefixes)]


def test_a_list_as_applied_and_enforced_is_no_drift(rendered):
    report = rendered["json"]["clean"]
    assert drift_of(report) == []
    peers = {peer["name"]: peer for peer in report["peers"]}
    assert list(peers) == ["dicom-client", "storage-node"]
    client = peers["dicom-client"]
    assert client["ae_title"] == "DCMTK-CLIENT" and client["roles"] == ["store-scu", "query-scu"]
    assert client["identity"] == "dicom-client" and client["not_after"] == FAR and client["days_left"] > 20000
    assert client["certificate_secret"] == f"{DEPLOYMENT}/pki/dicom-client"
    assert client["applied"] is True and client["admitted_on"] == ["storage", "query"]
    assert peers["storage-node"]["admitted_on"] == [] and peers["storage-node"]["roles"] == ["move-destination"]
    assert report["peers_record"] == {
        "found": True,
        "applied": ["dicom-client", "storage-node"],
        "revoked": [REVOKED, EXPIRED],
    }
    admission = {e["port_name"]: e for e in report["edge_admission"]}
    assert admission["storage"]["identities"] == ["dicom-client"]
    assert admission["query"]["revoked_serials"] == [BIG_SERIAL]
    assert "text" not in admission["storage"], "the policy text stays out of the report"
    assert "2 DICOM peers" in report["summary"]
    markdown = rendered["md"]["clean"]
    assert "## DICOM peers" in markdown
    assert "| dicom-client | DCMTK-CLIENT | store-scu, query-scu | dicom-client | " + FAR in markdown
    assert f"| {DEPLOYMENT}-ghostunnel-storage | storage ({STORAGE_PORT}) |" in markdown
    assert BIG_SERIAL in markdown


def test_an_identity_the_edge_lets_in_that_the_list_lacks_is_drift(rendered):
    assert drift_of(rendered["json"]["extra_at_edge"]) == [
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-storage: the edge lets in modality-1 on storage ({STORAGE_PORT}), "
        "pacs_peers has no such peer"
    ]


def test_a_revoked_serial_missing_from_the_live_policy_is_drift(rendered):
    # The expired entry (past its not_after) is no longer looked for: TLS refuses it anyway.
    assert drift_of(rendered["json"]["revoked_missing"]) == [
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-storage: revoked serial {BIG_SERIAL} (peer old-peer, CN old-peer, "
        "until 2099-12-31T23:59:59Z) is missing from the live policy (policy file /run/pacs-tls/edge.rego)"
    ]


def test_an_edge_still_on_allow_cn_is_read_from_its_command_line(rendered):
    report = rendered["json"]["allow_cn_edges"]
    assert drift_of(report) == []
    assert {e["source"] for e in report["edge_admission"]} == {"command line (--allow-cn)"}


def test_a_list_edited_but_not_applied_is_drift(rendered):
    report = rendered["json"]["list_edited_not_applied"]
    assert drift_of(report) == [
        "peer modality-1: peer modality-1 has no certificate (pacs-lab/pki/modality-1 not found): "
        "the list was edited but not applied (playbooks/peers.yml)",
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-storage: the edge does not let in modality-1 on storage ({STORAGE_PORT}), "
        "pacs_peers has it (playbooks/peers.yml applies it)",
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-query: the edge does not let in modality-1 on query ({QUERY_PORT}), "
        "pacs_peers has it (playbooks/peers.yml applies it)",
        "pacs_peers: pacs_peers changed since the last peers.yml run: added modality-1 / removed old-peer",
    ]
    modality = next(peer for peer in report["peers"] if peer["name"] == "modality-1")
    assert modality["not_after"] is None and modality["days_left"] is None and modality["applied"] is False
    assert (
        "| modality-1 | MODALITY-1 | store-scu, query-scu | modality-1 | NO CERTIFICATE |"
        in (rendered["md"]["list_edited_not_applied"])
    )


def test_no_record_is_drift(rendered):
    report = rendered["json"]["no_record"]
    assert drift_of(report) == [
        "pacs_peers: no record of an applied peer list (pacs-lab/pacs/peers not found): run playbooks/peers.yml"
    ]
    assert report["peers_record"] == {"found": False, "applied": None, "revoked": []}
    assert {peer["applied"] for peer in report["peers"]} == {None}


def test_an_edge_whose_policy_was_not_read_is_drift(rendered):
    assert drift_of(rendered["json"]["edge_not_read"]) == [
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-storage: what it lets in was not read "
        "(policy file /run/pacs-tls/edge.rego): not read by pacs_edge_policy_parse: the edge policy is not as rendered"
    ]


def test_aws_an_edge_on_an_older_policy_version_is_a_rotation_not_rolled_out(rendered):
    assert drift_of(rendered["json"]["aws_policy_not_rolled_out"]) == [
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-storage: runs secret edge-policy version v-old, "
        "Secrets Manager's current holds another policy (a rotation not rolled out)"
    ]


def test_lab_an_edge_whose_policy_file_is_not_the_current_policy_missed_a_rotation(rendered):
    # The file as `docker exec cat` gives it back (no trailing newline) is the same policy.
    assert drift_of(rendered["json"]["lab_policy_not_rolled_out"]) == [
        f"DIMSE edge {DEPLOYMENT}-ghostunnel-query: its policy file /run/pacs-tls/edge.rego differs from the current "
        "edge-policy in Secrets Manager (a rotation not rolled out)"
    ]


def test_a_peer_certificate_in_its_renewal_window_is_drift(rendered):
    found = drift_of(rendered["json"]["renewal_due"], "peer ")
    assert len(found) == 1 and found[0].startswith("peer dicom-client: certificate expires in -"), found
    assert found[0].endswith("days, within the renewal window of 30 days")

"""filter_plugins/pacs_peers.py: the DICOM peer list and everything derived from it.

The default list (group_vars/all/peers.yml, with the globals of pacs.yml) must derive exactly what the
deployment had before peers were data (one caller, one destination): the same AE titles, destination,
edge identities, tunnel and certificates, so that an upgrade re-issues and restarts nothing it need not.
"""

from __future__ import annotations

import copy
import datetime

import pytest

from tests.support.plugins import load_plugin

peers = load_plugin("filter_plugins/pacs_peers.py", "pacs_peers")

CTX = {
    "pacs_aet": "DICOOGLE-STORAGE",
    "task_ports": {
        "web": 8080,
        "storage": 6666,
        "query": 1045,
        "admin_tls": 8443,
        "storage_tls": 16666,
        "query_tls": 11045,
        "move_forward": 17777,
    },
    "default_forward_port": 17777,
    "default_validity_days": 397,
    "peer_validity_days": 90,
    "reserved_names": ["ca", "pacs-edge", "admin-web"],
    "reserved_identities": ["pacs-edge", "admin-web"],
    "max_move_tunnels": 4,
    "target": "lab",
}
DEFAULT = [
    {
        "name": "dicom-client",
        "ae_title": "DCMTK-CLIENT",
        "roles": ["store-scu", "query-scu"],
        "identity": "dicom-client",
        "validity_days": 397,
    },
    {
        "name": "storage-node",
        "ae_title": "STORAGE-NODE",
        "roles": ["move-destination"],
        "identity": "storage-node",
        "host": "storage.pacs.internal",
        "port": 7777,
        "forward_port": 17777,
        "dns_names": ["storage-node", "localhost"],
        "description": "storage node",
        "validity_days": 397,
    },
]
MODALITY = {
    "name": "modality-1",
    "ae_title": "MODALITY-1",
    "roles": ["store-scu", "query-scu", "move-destination"],
    "host": "modality-1.pacs.internal",
    "port": 7777,
    "forward_port": 17778,
    "inventory_host": "pacs-lab-modality",
}


def with_peer(**peer):
    return [*copy.deepcopy(DEFAULT), peer]


def test_the_default_list_derives_what_the_deployment_had():
    assert peers.pacs_peers_problems(DEFAULT, CTX) == []
    derived = peers.pacs_peers_derive(DEFAULT, CTX)
    assert derived["allowed_aets"] == ["DCMTK-CLIENT"]
    assert derived["move_destinations"] == [
        {
            "aetitle": "STORAGE-NODE",
            "address": "127.0.0.1",
            "port": 17777,
            "public": False,
            "description": "storage node storage.pacs.internal:7777 through the task's TLS tunnel",
        }
    ]
    assert derived["edge"] == {"storage": ["dicom-client"], "query": ["dicom-client"]}
    assert derived["move_tunnels"] == [
        {
            "container": "ghostunnel-move",
            "listen": 17777,
            "host": "storage.pacs.internal",
            "port": 7777,
            "cn": "storage-node",
            "peer": "storage-node",
        }
    ]
    # Same names, CNs, SANs and usages as the leaves the PKI had; no per-leaf lifetime (the default).
    assert derived["pki_leaves"] == [
        {"name": "dicom-client", "common_name": "dicom-client", "dns_names": [], "usages": ["clientAuth"]},
        {
            "name": "storage-node",
            "common_name": "storage-node",
            "dns_names": ["storage.pacs.internal", "storage-node", "localhost"],
            "usages": ["serverAuth"],
        },
    ]
    assert derived["hosts"] == {}


def test_a_modality_that_stores_queries_and_receives_gets_everything_once():
    derived = peers.pacs_peers_derive(with_peer(**MODALITY), CTX)
    assert derived["allowed_aets"] == ["DCMTK-CLIENT", "MODALITY-1"]
    assert [d["aetitle"] for d in derived["move_destinations"]] == ["STORAGE-NODE", "MODALITY-1"]
    assert derived["edge"] == {"storage": ["dicom-client", "modality-1"], "query": ["dicom-client", "modality-1"]}
    assert [t["container"] for t in derived["move_tunnels"]] == ["ghostunnel-move", "ghostunnel-move-modality-1"]
    assert derived["move_tunnels"][1]["listen"] == 17778
    leaf = derived["pki_leaves"][-1]
    assert leaf == {
        "name": "modality-1",
        "common_name": "modality-1",
        "dns_names": ["modality-1.pacs.internal"],
        "usages": ["clientAuth", "serverAuth"],
        "validity_days": 90,
    }
    assert derived["hosts"] == {
        "pacs-lab-modality": {
            "peer": "modality-1",
            "groups": ["dicom_clients", "dicom_storage_nodes"],
            "aliases": ["modality-1.pacs.internal"],
        }
    }


def test_roles_decide_which_port_lets_an_identity_in():
    derived = peers.pacs_peers_derive(with_peer(name="workstation", ae_title="READER-1", roles=["query-scu"]), CTX)
    assert "workstation" in derived["edge"]["query"]
    assert "workstation" not in derived["edge"]["storage"]
    receiver = peers.pacs_peers_derive(
        with_peer(
            name="archive-2",
            ae_title="ARCHIVE-2",
            roles=["move-destination"],
            host="archive-2.example.org",
            port=2762,
            forward_port=17790,
        ),
        CTX,
    )
    assert "archive-2" not in receiver["edge"]["storage"] + receiver["edge"]["query"]
    assert "ARCHIVE-2" not in receiver["allowed_aets"]


BAD = {
    "duplicate AE title": (
        dict(name="m1", ae_title="dcmtk-client", roles=["store-scu"]),
        "pacs_peers[m1].ae_title",
        "repeats",
    ),
    "AE title over 16": (dict(name="m1", ae_title="A" * 17, roles=["store-scu"]), "pacs_peers[m1].ae_title", "1-16"),
    "AE title with a backslash": (
        dict(name="m1", ae_title="MOD\\1", roles=["store-scu"]),
        "pacs_peers[m1].ae_title",
        "backslash",
    ),
    "the PACS's own AE title": (
        dict(name="m1", ae_title="DICOOGLE-STORAGE", roles=["store-scu"]),
        "pacs_peers[m1].ae_title",
        "pacs_aet",
    ),
    "destination without host": (
        dict(name="m1", ae_title="M1", roles=["move-destination"], port=104, forward_port=17790),
        "pacs_peers[m1].host",
        "required",
    ),
    "destination without port": (
        dict(name="m1", ae_title="M1", roles=["move-destination"], host="m1.example.org", forward_port=17790),
        "pacs_peers[m1].port",
        "required",
    ),
    "destination without forward port": (
        dict(name="m1", ae_title="M1", roles=["move-destination"], host="m1.example.org", port=104),
        "pacs_peers[m1].forward_port",
        "required",
    ),
    "forward port of the task": (
        dict(name="m1", ae_title="M1", roles=["move-destination"], host="m1.example.org", port=104, forward_port=11045),
        "pacs_peers[m1].forward_port",
        "task's own",
    ),
    "forward port twice": (
        dict(name="m1", ae_title="M1", roles=["move-destination"], host="m1.example.org", port=104, forward_port=17777),
        "pacs_peers[m1].forward_port",
        "storage-node",
    ),
    "name not a DNS label": (
        dict(name="Modality_1", ae_title="M1", roles=["store-scu"]),
        "pacs_peers[Modality_1].name",
        "DNS label",
    ),
    "name of the deployment's own certificate": (
        dict(name="pacs-edge", ae_title="M1", roles=["store-scu"]),
        "pacs_peers[pacs-edge].name",
        "own certificates",
    ),
    "same name twice": (
        dict(name="dicom-client", ae_title="M1", roles=["store-scu"]),
        "pacs_peers[dicom-client].name",
        "repeats",
    ),
    "shared identity": (
        dict(name="m1", ae_title="M1", roles=["store-scu"], identity="dicom-client"),
        "pacs_peers[m1].identity",
        "dicom-client",
    ),
    "the PACS's identity": (
        dict(name="m1", ae_title="M1", roles=["store-scu"], identity="pacs-edge"),
        "pacs_peers[m1].identity",
        "own service",
    ),
    "unknown role": (dict(name="m1", ae_title="M1", roles=["store-scp"]), "pacs_peers[m1].roles", "store-scp"),
    "no role": (dict(name="m1", ae_title="M1", roles=[]), "pacs_peers[m1].roles", "one or more"),
    "host on a caller": (
        dict(name="m1", ae_title="M1", roles=["store-scu"], host="m1.example.org"),
        "pacs_peers[m1].host",
        "only for a move-destination",
    ),
    "unknown field": (
        dict(name="m1", ae_title="M1", roles=["store-scu"], aet="M1"),
        "pacs_peers[m1].aet",
        "not a peer field",
    ),
    "port out of range": (
        dict(
            name="m1", ae_title="M1", roles=["move-destination"], host="m1.example.org", port=70000, forward_port=17790
        ),
        "pacs_peers[m1].port",
        "1-65535",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_naming_the_peer_and_the_field(case):
    peer, where, words = BAD[case]
    problems = peers.pacs_peers_problems(with_peer(**peer), CTX)
    assert any(p.startswith(where) and words in p for p in problems), problems


def test_a_list_without_callers_or_empty_is_refused():
    only_destination = [DEFAULT[1]]
    assert any("at least one store-scu or query-scu" in p for p in peers.pacs_peers_problems(only_destination, CTX))
    assert any("must not be empty" in p for p in peers.pacs_peers_problems([], CTX))
    assert peers.pacs_peers_problems("dicom-client", CTX) == [
        "pacs_peers must be a list of peers (dicts with name, ae_title, roles)"
    ]


def test_aws_has_room_for_four_move_tunnels():
    extra = [
        dict(
            name=f"d{i}",
            ae_title=f"D{i}",
            roles=["move-destination"],
            host=f"d{i}.example.org",
            port=104,
            forward_port=17780 + i,
        )
        for i in range(4)
    ]
    assert peers.pacs_peers_problems([*DEFAULT, *extra[:3]], dict(CTX, target="aws")) == []
    problems = peers.pacs_peers_problems([*DEFAULT, *extra], dict(CTX, target="aws"))
    assert any("more than the 4 tunnels" in p for p in problems)
    assert peers.pacs_peers_problems([*DEFAULT, *extra], CTX) == []


def test_plan_tells_added_changed_removed_and_what_to_revoke():
    applied = peers.pacs_peers_plan(peers.pacs_peers_derive(with_peer(**MODALITY), CTX)["peers"], None)["applied"]
    assert [p["name"] for p in applied] == ["dicom-client", "storage-node", "modality-1"]
    first = peers.pacs_peers_plan(peers.pacs_peers_derive(DEFAULT, CTX)["peers"], None)
    assert first["added"] == ["dicom-client", "storage-node"] and first["revoke"] == []
    same = peers.pacs_peers_plan(peers.pacs_peers_derive(with_peer(**MODALITY), CTX)["peers"], applied)
    assert same["added"] == same["changed"] == same["removed"] == same["revoke"] == []
    gone = peers.pacs_peers_plan(peers.pacs_peers_derive(DEFAULT, CTX)["peers"], applied)
    assert gone["removed"] == ["modality-1"] and gone["revoke"] == ["modality-1"]
    renamed = peers.pacs_peers_plan(
        peers.pacs_peers_derive(with_peer(**dict(MODALITY, identity="modality-1b")), CTX)["peers"], applied
    )
    assert renamed["changed"] == ["modality-1"] and renamed["revoke"] == ["modality-1"] and renamed["removed"] == []
    moved = peers.pacs_peers_plan(
        peers.pacs_peers_derive(with_peer(**dict(MODALITY, port=2762)), CTX)["peers"], applied
    )
    assert moved["changed"] == ["modality-1"] and moved["revoke"] == []


def test_a_host_plays_the_peer_that_names_it_or_its_groups_default():
    listed = with_peer(**MODALITY)
    assert peers.pacs_peers_host(listed, "pacs-lab-modality", ["dicom_clients"]) == "modality-1"
    assert peers.pacs_peers_host(listed, "pacs-lab-client", ["dicom_clients", "onprem"]) == "dicom-client"
    assert peers.pacs_peers_host(listed, "pacs-lab-storage", ["dicom_storage_nodes"]) == "storage-node"
    assert peers.pacs_peers_host(listed, "elsewhere", []) == "dicom-client"


def test_revoked_serials_are_exact_decimal_strings_until_expiry():
    big = 556476043506260512857574887683902390424343239233  # 160 bits: beyond any float
    entry = peers.pacs_peers_revoked_entry(("modality-1", big, "20300101000000Z", {"commonName": "modality-1"}))
    assert entry == {
        "name": "modality-1",
        "identity": "modality-1",
        "serial": str(big),
        "not_after": "2030-01-01T00:00:00Z",
        "not_after_epoch": 1893456000,
    }
    expired = dict(entry, serial="7", not_after_epoch=1000)
    now = int(datetime.datetime(2026, 12, 6, tzinfo=datetime.UTC).timestamp())
    assert peers.pacs_peers_revoked_serials([entry, expired, entry], now) == [str(big)]


def test_the_bundle_names_only_its_peer_and_what_its_roles_need():
    derived = peers.pacs_peers_derive(with_peer(**MODALITY), CTX)
    modality = derived["peers"][-1]
    ctx = {
        "endpoint": "dimse.pacs.internal",
        "storage_port": 16666,
        "query_port": 11045,
        "pacs_aet": "DICOOGLE-STORAGE",
        "pacs_identity": "pacs-edge",
        "deployment": "pacs-lab",
    }
    bundle = peers.pacs_peers_bundle(modality, ctx)
    assert bundle["peer"]["ports"] == {"storage": 16666, "query": 11045}
    assert bundle["peer"]["calling_ae_title"] == "MODALITY-1"
    assert bundle["peer"]["move_destination"]["listen"] == "modality-1.pacs.internal:7777"
    readme = bundle["readme"]
    assert (
        "echoscu +tls key.pem cert.pem +cf ca.pem -aet MODALITY-1 -aec DICOOGLE-STORAGE dimse.pacs.internal 16666"
        in readme
    )
    for other in ("DCMTK-CLIENT", "dicom-client", "STORAGE-NODE", "storage-node"):
        assert other not in readme and other not in str(bundle["peer"])
    reader = peers.pacs_peers_derive(with_peer(name="reader", ae_title="READER", roles=["query-scu"]), CTX)["peers"][-1]
    only_query = peers.pacs_peers_bundle(reader, ctx)
    assert only_query["peer"]["ports"] == {"query": 11045}
    assert "16666" not in only_query["readme"] and "storescp" not in only_query["readme"]

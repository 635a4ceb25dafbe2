"""The pacs_settings role's filters: input rules, Orthanc modalities, SHA-512 crypt.

The crypt filter is checked against OpenSSL's `passwd -6` (glibc's scheme, the one nginx
verifies through crypt(3)); the rendered files are checked in test_pacs_settings_render.py.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings

import pytest

from tests.support.plugins import load_plugin

filters = load_plugin("roles/pacs_settings/filter_plugins/pacs_settings.py", "pacs_settings_filters")


def good_inputs(**changes):
    inputs = {
        "pacs_settings_engine": "dicoogle",
        "pacs_settings_dest": "/srv/settings",
        "pacs_settings_aet": "DICOOGLE-STORAGE",
        "pacs_settings_node_name": "DICOOGLE-STORAGE",
        "pacs_settings_allowed_aets": ["DCMTK-CLIENT"],
        "pacs_settings_allow_any_caller": False,
        "pacs_settings_move_destinations": [{"aetitle": "STORAGE-NODE", "address": "127.0.0.1", "port": 17777}],
        "pacs_settings_port_web": 8080,
        "pacs_settings_port_storage": 6666,
        "pacs_settings_port_query": 1045,
        "pacs_settings_port_admin_tls": 8443,
        "pacs_settings_task_ports": {"pacs_port_storage_tls": 16666, "pacs_port_move_forward": 17777},
        "pacs_settings_dicoogle_version": "3.5.1",
        "pacs_settings_dicoogle_images_dir": "/srv/pacs/images",
        "pacs_settings_dicoogle_index_dir": "/srv/pacs/index/",
        "pacs_settings_dicoogle_sop_classes": [{"uid": "1.2.840.10008.5.1.4.1.1.2"}],
        "pacs_settings_dicoogle_default_ts": ["1.2.840.10008.1.2"],
        "pacs_settings_dicoogle_qr_sop_classes": ["1.2.840.10008.5.1.4.1.2.2.1"],
        "pacs_settings_dicoogle_qr_transfer_capabilities": ["1.2.840.10008.1.2"],
        "pacs_settings_nginx_client_max_body_size": "64m",
        "pacs_settings_nginx_proxy_read_timeout": "300s",
        "pacs_settings_nginx_tls_certificate": "/etc/nginx/tls/tls.crt",
        "pacs_settings_nginx_tls_certificate_key": "/etc/nginx/tls/tls.key",
        "pacs_settings_nginx_config_dir": "/etc/nginx/pacs",
        "pacs_settings_nginx_run_dir": "/run/nginx",
        "pacs_settings_nginx_server_names": ["localhost"],
        "pacs_settings_nginx_ssl_ciphers": ["ECDHE-RSA-AES128-GCM-SHA256"],
        "pacs_settings_nginx_hsts": "max-age=63072000",
        "pacs_settings_nginx_basic_auth_realm": "PACS",
        "pacs_settings_nginx_basic_auth": True,
        "pacs_settings_admin_users__names": ["admin"],
        "pacs_settings_admin_users__without_password": [],
        "pacs_settings_htpasswd_salt_seed": "seed",
        "pacs_settings_htpasswd_rounds": 5000,
    }
    inputs.update(changes)
    return inputs


def test_good_inputs_have_no_problem():
    assert filters.pacs_settings_problems(good_inputs()) == []


@pytest.mark.parametrize(
    "aet",
    ["A", "DICOOGLE-STORAGE", "WITH SPACE", "SYM!#$%&'()*+,-.", "~[]^_`{|}"[:16], "0123456789ABCDEF"],
)
def test_ae_titles_of_the_dicom_character_set_are_accepted(aet):
    assert filters.ae_title_problem(aet) == ""


@pytest.mark.parametrize(
    ("aet", "rule"),
    [
        ("", "1-16 characters"),
        ("ABCDEFGHIJKLMNOPQ", "1-16 characters"),
        ("BAD\\AET", "must not contain a backslash"),
        ("TAB\tAET", "no control characters"),
        ("NEW\nLINE", "no control characters"),
        ("ÄRZTE", "1-16 characters"),
        ("    ", "only spaces"),
        (" LEADING", "start or end with a space"),
        (12, "must be a string"),
    ],
)
def test_bad_ae_titles_are_refused_with_the_rule(aet, rule):
    assert rule in filters.ae_title_problem(aet)


def test_messages_name_the_variable_and_its_inventory_source():
    problems = filters.pacs_settings_problems(
        good_inputs(pacs_settings_aet="X" * 17), {"pacs_settings_aet": "pacs_aet"}
    )
    assert len(problems) == 1
    assert problems[0].startswith("pacs_settings_aet (set from pacs_aet) must be 1-16 characters")


def test_clashing_ports_name_every_variable_involved():
    problems = filters.pacs_settings_problems(
        good_inputs(pacs_settings_port_query="6666", pacs_settings_task_ports={"pacs_port_query_tls": 8443})
    )
    assert any("pacs_settings_port_storage and pacs_settings_port_query" in p and "6666" in p for p in problems)
    assert any("pacs_settings_port_admin_tls and pacs_settings_task_ports.pacs_port_query_tls" in p for p in problems)


@pytest.mark.parametrize("port", [0, 65536, 70000, "http", -1, True])
def test_ports_outside_1_to_65535_are_refused(port):
    problems = filters.pacs_settings_problems(good_inputs(pacs_settings_port_web=port))
    assert [p for p in problems if p.startswith("pacs_settings_port_web must be a port number 1-65535")]


def test_move_destination_rules():
    problems = filters.pacs_settings_problems(
        good_inputs(
            pacs_settings_move_destinations=[
                {"aetitle": "A", "address": "127.0.0.1"},
                {"aetitle": "A", "address": "bad host", "port": 99999},
            ]
        )
    )
    text = "\n".join(problems)
    assert "pacs_settings_move_destinations[0] must have aetitle, address and port (missing: port)" in text
    assert "pacs_settings_move_destinations[1].aetitle must be unique" in text
    assert "pacs_settings_move_destinations[1].address must be a host name" in text
    assert "pacs_settings_move_destinations[1].port must be a port number" in text


def test_an_empty_caller_list_needs_an_explicit_opt_in():
    assert any(
        p.startswith("pacs_settings_allowed_aets must list at least one")
        for p in filters.pacs_settings_problems(good_inputs(pacs_settings_allowed_aets=[]))
    )
    assert (
        filters.pacs_settings_problems(
            good_inputs(pacs_settings_allowed_aets=[], pacs_settings_allow_any_caller="true")
        )
        == []
    )


@pytest.mark.parametrize(
    ("changes", "start"),
    [
        ({"pacs_settings_engine": "dcm4chee"}, "pacs_settings_engine must be one of dicoogle, orthanc"),
        ({"pacs_settings_dicoogle_version": "3.5"}, "pacs_settings_dicoogle_version must be a release number"),
        ({"pacs_settings_dest": "relative/dir"}, "pacs_settings_dest must be an absolute path"),
        ({"pacs_settings_node_name": "a-very-long-node-name"}, "pacs_settings_node_name must be 1-16"),
        ({"pacs_settings_dicoogle_sop_classes": []}, "pacs_settings_dicoogle_sop_classes must list at least one"),
        ({"pacs_settings_dicoogle_sop_classes": [{"uid": "1.2.03"}]}, "pacs_settings_dicoogle_sop_classes[0].uid"),
        ({"pacs_settings_dicoogle_default_ts": ["1.2.x"]}, "pacs_settings_dicoogle_default_ts[0] must be a DICOM UID"),
        ({"pacs_settings_nginx_client_max_body_size": "64 MB"}, "pacs_settings_nginx_client_max_body_size"),
        ({"pacs_settings_nginx_ssl_ciphers": ["AES128-SHA"]}, "pacs_settings_nginx_ssl_ciphers[0] must be an AEAD"),
        ({"pacs_settings_nginx_tls_certificate": "/etc/x; evil"}, "pacs_settings_nginx_tls_certificate must be"),
        ({"pacs_settings_admin_users__names": []}, "pacs_settings_admin_users must list at least one user"),
        ({"pacs_settings_admin_users__names": ["a:b"]}, "pacs_settings_admin_users[0].name"),
        ({"pacs_settings_admin_users__without_password": ["admin"]}, "pacs_settings_admin_users has an empty password"),
        ({"pacs_settings_htpasswd_rounds": 10}, "pacs_settings_htpasswd_rounds must be"),
    ],
)
def test_each_rule_names_its_variable(changes, start):
    problems = filters.pacs_settings_problems(good_inputs(**changes))
    assert [p for p in problems if p.startswith(start)], problems


def test_orthanc_settings_skip_the_dicoogle_only_rules():
    inputs = good_inputs(
        pacs_settings_engine="orthanc",
        pacs_settings_node_name="a name longer than an AE",
        pacs_settings_dicoogle_sop_classes=[],
    )
    assert filters.pacs_settings_problems(inputs) == []


def test_orthanc_modalities_give_callers_rights_and_destinations_none():
    modalities = filters.pacs_settings_orthanc_modalities(
        ["DCMTK-CLIENT"], [{"aetitle": "STORAGE-NODE", "address": "127.0.0.1", "port": "17777"}]
    )
    client, storage = modalities["DCMTK-CLIENT"], modalities["STORAGE-NODE"]
    assert client["Host"] == "127.0.0.1"
    assert all(client[k] for k in ("AllowEcho", "AllowStore", "AllowFind", "AllowMove"))
    assert not any(client[k] for k in ("AllowGet", "AllowFindWorklist", "AllowStorageCommitment"))
    assert storage == {
        "AET": "STORAGE-NODE",
        "Host": "127.0.0.1",
        "Port": 17777,
        "AllowEcho": False,
        "AllowStore": False,
        "AllowFind": False,
        "AllowMove": False,
        "AllowGet": False,
        "AllowFindWorklist": False,
        "AllowStorageCommitment": False,
    }


def test_a_caller_that_is_also_a_destination_keeps_its_address():
    modalities = filters.pacs_settings_orthanc_modalities(
        ["PEER"], [{"aetitle": "PEER", "address": "10.0.0.5", "port": 104}]
    )
    assert list(modalities) == ["PEER"]
    assert modalities["PEER"]["Host"] == "10.0.0.5"
    assert modalities["PEER"]["AllowMove"] is True


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize(
    ("password", "salt", "rounds"),
    [
        ("secret", "abcdef0123456789", 5000),
        ("x", "ab", 5000),
        ("a" * 130, "0123456789abcdef", 12000),
        ("pässwörd mit Leerzeichen", "./AZaz09", 1000),
    ],
)
def test_sha512_crypt_matches_openssl(password, salt, rounds):
    command = ["openssl", "passwd", "-6", "-salt", salt, "-stdin"]
    if rounds != 5000:
        # openssl has no rounds option; glibc's form "$6$rounds=N$salt" is checked through Python below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            crypt = pytest.importorskip("crypt")
        assert filters.pacs_settings_sha512_crypt(password, salt, rounds) == crypt.crypt(
            password, f"$6$rounds={rounds}${salt}"
        )
        return
    expected = subprocess.run(command, input=password, capture_output=True, text=True, check=True).stdout.strip()
    assert filters.pacs_settings_sha512_crypt(password, salt, rounds) == expected


@pytest.mark.parametrize(("password", "salt"), [("", "salt"), ("pw", "bad salt"), ("pw", "")])
def test_sha512_crypt_refuses_empty_passwords_and_bad_salts(password, salt):
    with pytest.raises(ValueError):
        filters.pacs_settings_sha512_crypt(password, salt)

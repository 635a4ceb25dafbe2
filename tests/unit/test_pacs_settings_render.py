"""Role pacs_settings, run for real through tests/playbooks/render_pacs_settings.yml.

The inventory (inventories/lab and group_vars/all/pacs.yml) is the source of every value; the
rendered Dicoogle server.xml is compared with the element paths Dicoogle's settings reader knows, per
release (tests/fixtures/dicoogle/server_xml_paths.yml, written down by the project from Dicoogle's own
settings fixtures). nginx and Orthanc are run on the rendered files in test_pacs_settings_live.py; the
real Dicoogle reads them in tests/integration/test_dicoogle.py.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_run import PlaybookRun
from tests.support.settings_render import Render, copy_of, refuse_cases, render_into

ROOT = Path(__file__).resolve().parents[2]
DICOOGLE_PATHS = yaml.safe_load((ROOT / "tests" / "fixtures" / "dicoogle" / "server_xml_paths.yml").read_text())
GLOBALS = yaml.safe_load((ROOT / "group_vars" / "all" / "pacs.yml").read_text())
# A fresh password per test session, so that a leak cannot hide behind a known value.
ADMIN_PASSWORD = "Pw-" + secrets.token_hex(16)
ADMIN_USER = "pacs-admin"
UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")
# Attributes Dicoogle's settings classes define that its 3.5.1 test fixture happens not to use:
# StorageImpl (dicoogle/dicoogle @ 3.5.1, core/settings/part/StorageImpl.java) has the same
# `hostname` attribute as web-server and query-retrieve.
KNOWN_BEYOND_FIXTURE = {
    "3.5.1": {"config/dicom-services/storage@hostname"},
    "3.4.2": {"config/dicom-services/storage@hostname"},
    "3.4.1": set(),
}


ADMIN_USERS = {"pacs_admin_users": [{"name": ADMIN_USER, "password": ADMIN_PASSWORD}]}


def render(dest: Path, *extra: str, outputs: Path | None = None) -> PlaybookRun:
    """Run the role into dest with the lab inventory, the admin user and extra arguments."""
    return render_into(dest, ADMIN_USERS, *extra, outputs=outputs)


def outputs_of(dest: Path) -> dict:
    return json.loads((dest.parent / "outputs.json").read_text())


def xml_paths(element: ET.Element, prefix: str = "") -> set[str]:
    """Every element path and element@attribute path under element (comments are not parsed)."""
    path = f"{prefix}/{element.tag}" if prefix else element.tag
    found = {path} | {f"{path}@{name}" for name in element.attrib}
    for child in element:
        found |= xml_paths(child, path)
    return found


@pytest.fixture(scope="module")
def dicoogle_render(settings_render) -> Render:
    return settings_render(ADMIN_USERS, "-e", "pacs_engine=dicoogle")


@pytest.fixture(scope="module")
def orthanc_render(settings_render) -> Render:
    return settings_render(ADMIN_USERS, "-e", "pacs_engine=orthanc")


@pytest.fixture(scope="module")
def dicoogle(dicoogle_render) -> Path:
    return dicoogle_render.dest


@pytest.fixture(scope="module")
def orthanc(orthanc_render) -> Path:
    return orthanc_render.dest


@pytest.fixture(scope="module")
def dicoogle_by_version(settings_render, dicoogle) -> dict[str, Path]:
    by_version = {"3.5.1": dicoogle}
    for version in ("3.4.1", "3.4.2", "3.5.0"):
        by_version[version] = settings_render(
            ADMIN_USERS, "-e", "pacs_engine=dicoogle", "-e", f"pacs_dicoogle_version={version}"
        ).dest
    return by_version


def parse_xml(path: Path) -> ET.Element:
    # Files this test rendered, and Dicoogle's fixtures: trusted input.
    return ET.parse(path).getroot()  # noqa: S314


def server_xml(dest: Path) -> ET.Element:
    return parse_xml(dest / "confs" / "server.xml")


# --- Dicoogle -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.5.1", "3.4.2", "3.4.1"])
def test_server_xml_uses_only_what_dicoogles_settings_of_that_release_know(dicoogle_by_version, version):
    ours = server_xml(dicoogle_by_version[version])
    assert ours.tag == "config"
    invented = xml_paths(ours) - set(DICOOGLE_PATHS[version]) - KNOWN_BEYOND_FIXTURE[version]
    assert not invented, f"not in Dicoogle {version}'s own settings: {sorted(invented)}"


def test_server_xml_has_every_section_dicoogle_needs(dicoogle):
    root = server_xml(dicoogle)
    for path in (
        "web-server",
        "archive",
        "dicom-services/aetitle",
        "dicom-services/default-ts/ts",
        "dicom-services/move-destinations/move-destination",
        "dicom-services/storage",
        "dicom-services/query-retrieve",
        "archive/node-name",
        "archive/encrypt-users-file",
        "archive/main-directory",
    ):
        assert root.find(path) is not None, path
    sop_classes = root.findall("dicom-services/sop-classes/sop-class")
    assert sop_classes, "without sop-classes Dicoogle's storage SCP accepts nothing"
    for sop_class in sop_classes:
        assert UID.match(sop_class.findtext("uid")), sop_class.findtext("uid")
        for ts in sop_class.findall("transfer-syntaxes/ts"):
            assert UID.match(ts.text)
    for ts in root.findall("dicom-services/default-ts/ts"):
        assert UID.match(ts.text)
    for destination in root.findall("dicom-services/move-destinations/move-destination"):
        assert set(destination.attrib) == {"aetitle", "address", "port", "public", "description"}
    qr = root.find("dicom-services/query-retrieve")
    for child in (
        "rsp-delay",
        "dimse-rsp-timeout",
        "idle-timeout",
        "accept-timeout",
        "connection-timeout",
        "sop-class",
        "transfer-capabilities",
        "max-client-assocs",
        "max-pdu-length-receive",
        "max-pdu-length-send",
    ):
        assert qr.find(child) is not None, child
    assert {e.text for e in qr.findall("sop-class")} == {
        "1.2.840.10008.5.1.4.1.2.2.1",  # Study Root FIND
        "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root FIND
        "1.2.840.10008.5.1.4.1.2.2.2",  # Study Root MOVE
        "1.2.840.10008.5.1.4.1.2.1.2",  # Patient Root MOVE
    }


def test_default_sop_classes_cover_the_common_modalities(dicoogle):
    uids = {e.text for e in server_xml(dicoogle).findall("dicom-services/sop-classes/sop-class/uid")}
    required = {
        "CT": "1.2.840.10008.5.1.4.1.1.2",
        "Enhanced CT": "1.2.840.10008.5.1.4.1.1.2.1",
        "MR": "1.2.840.10008.5.1.4.1.1.4",
        "Enhanced MR": "1.2.840.10008.5.1.4.1.1.4.1",
        "CR": "1.2.840.10008.5.1.4.1.1.1",
        "DX": "1.2.840.10008.5.1.4.1.1.1.1",
        "US": "1.2.840.10008.5.1.4.1.1.6.1",
        "SC": "1.2.840.10008.5.1.4.1.1.7",
        "MG": "1.2.840.10008.5.1.4.1.1.1.2",
        "XA": "1.2.840.10008.5.1.4.1.1.12.1",
        "PET": "1.2.840.10008.5.1.4.1.1.128",
        "RT Image": "1.2.840.10008.5.1.4.1.1.481.1",
        "RT Dose": "1.2.840.10008.5.1.4.1.1.481.2",
        "RT Structure Set": "1.2.840.10008.5.1.4.1.1.481.3",
        "RT Plan": "1.2.840.10008.5.1.4.1.1.481.5",
    }
    missing = {name: uid for name, uid in required.items() if uid not in uids}
    assert not missing
    assert len(uids) == len(server_xml(dicoogle).findall("dicom-services/sop-classes/sop-class"))


def test_server_xml_values_are_the_inventorys(dicoogle):
    root = server_xml(dicoogle)
    assert root.findtext("dicom-services/aetitle") == GLOBALS["pacs_aet"]
    # The storage SCP also answers to node-name as an AE title: it is the AE title itself.
    assert root.findtext("archive/node-name") == GLOBALS["pacs_aet"]
    assert [e.text for e in root.findall("dicom-services/allowed-aetitles")] == [GLOBALS["pacs_client_aet"]]
    assert root.find("web-server").get("port") == str(GLOBALS["pacs_port_web"])
    assert root.find("dicom-services/storage").get("port") == str(GLOBALS["pacs_port_storage"])
    assert root.find("dicom-services/query-retrieve").get("port") == str(GLOBALS["pacs_port_query"])
    assert root.find("dicom-services/storage").get("autostart") == "true"
    assert root.find("dicom-services/query-retrieve").get("autostart") == "true"
    destinations = root.findall("dicom-services/move-destinations/move-destination")
    assert [(d.get("aetitle"), d.get("address"), d.get("port"), d.get("public")) for d in destinations] == [
        (GLOBALS["pacs_storage_node_aet"], "127.0.0.1", str(GLOBALS["pacs_port_move_forward"]), "false")
    ]


def test_hostname_attributes_from_3_4_2_and_support_wsi_from_3_5_0(dicoogle_by_version):
    # 3.4.2 (Dicoogle's sources of March 2025, the lab's archive) binds its ports but refuses
    # support-wsi: the JVM exits on an unknown element.
    for version, dest in dicoogle_by_version.items():
        root = server_xml(dest)
        servers = [
            root.find("web-server"),
            root.find("dicom-services/storage"),
            root.find("dicom-services/query-retrieve"),
        ]
        hostnames = [server.get("hostname") for server in servers]
        assert hostnames == ([None] * 3 if version == "3.4.1" else ["127.0.0.1"] * 3), version
        wsi = root.find("archive/support-wsi")
        assert (wsi is not None) == (version in ("3.5.0", "3.5.1")), version


def test_dicoogle_users_file_holds_the_deployments_administrators_and_no_default(dicoogle):
    import bcrypt

    users = parse_xml(dicoogle / "users" / "users.xml")
    entries = users.findall("user")
    assert [(u.get("username"), u.get("admin")) for u in entries] == [(ADMIN_USER, "true")]
    assert bcrypt.checkpw(ADMIN_PASSWORD.encode(), entries[0].get("hash").encode())
    assert entries[0].get("hash").startswith("$2b$10$")
    assert ADMIN_PASSWORD not in (dicoogle / "users" / "users.xml").read_text()
    assert stat.S_IMODE((dicoogle / "users" / "users.xml").stat().st_mode) == 0o640


def test_plugin_settings_have_dicoogles_keys(dicoogle):
    lucene = parse_xml(dicoogle / "Plugins" / "settings" / "luceneset.xml")
    assert lucene.tag == "configuration"
    assert lucene.findtext("indexer/enabled") == "true"
    assert int(lucene.findtext("indexer/maxRAMBufferSize")) > 0
    path = lucene.findtext("indexer/path")
    # Lucene appends "indexed" to this path: one trailing slash, absolute.
    assert path.startswith("/") and path.endswith("/") and not path.endswith("//")
    storage = parse_xml(dicoogle / "Plugins" / "settings" / "file-storage.xml")
    assert storage.tag == "configuration"
    assert storage.findtext("root-dir").startswith("/")
    assert storage.findtext("use-relative-path") == "false"
    assert storage.findtext("scheme") == "file"
    assert storage.findtext("root-dir") == server_xml(dicoogle).findtext("archive/main-directory")


def test_dicoogle_dimse_targets_are_its_two_ports(dicoogle):
    assert outputs_of(dicoogle)["dimse_targets"] == {
        "storage": GLOBALS["pacs_port_storage"],
        "query": GLOBALS["pacs_port_query"],
    }


# --- Orthanc --------------------------------------------------------------------------------


def test_orthanc_json_holds_the_inventorys_values(orthanc):
    config = json.loads((orthanc / "orthanc" / "orthanc.json").read_text())
    assert sorted(p.name for p in (orthanc / "orthanc").iterdir()) == ["orthanc.json"]
    assert config["DicomAet"] == GLOBALS["pacs_aet"]
    assert config["DicomPort"] == GLOBALS["pacs_port_storage"]
    assert config["HttpPort"] == GLOBALS["pacs_port_web"]
    assert config["DicomCheckCalledAet"] is True
    assert config["DicomCheckModalityHost"] is True
    assert config["RemoteAccessAllowed"] is False
    assert config["OverwriteInstances"] is False
    assert config["MaximumStorageSize"] == 0
    assert isinstance(config["DicomScuTimeout"], int)
    assert 0 < config["StableAge"] <= 60
    assert config["Plugins"] == ["/usr/share/orthanc/plugins/"]
    assert config["DicomModalitiesInDatabase"] is False
    for key in ("Echo", "Store", "Find", "FindWorklist", "Get", "Move"):
        assert config[f"DicomAlwaysAllow{key}"] is False, key
    assert "Host" not in config["DicomWeb"]
    assert config["DicomWeb"]["Enable"] is True
    modalities = {entry["AET"]: entry for entry in config["DicomModalities"].values()}
    client = modalities[GLOBALS["pacs_client_aet"]]
    assert client["Host"] == "127.0.0.1"
    assert [client[f"Allow{k}"] for k in ("Echo", "Store", "Find", "Move", "Get")] == [True] * 4 + [False]
    storage = modalities[GLOBALS["pacs_storage_node_aet"]]
    assert (storage["Host"], storage["Port"]) == ("127.0.0.1", GLOBALS["pacs_port_move_forward"])
    assert not any(storage[f"Allow{k}"] for k in ("Echo", "Store", "Find", "Move", "Get"))
    assert "RegisteredUsers" not in config


def test_orthanc_answers_query_retrieve_on_its_storage_port(orthanc):
    port = GLOBALS["pacs_port_storage"]
    assert outputs_of(orthanc)["dimse_targets"] == {"storage": port, "query": port}
    assert not (orthanc / "confs").exists()


# --- nginx ----------------------------------------------------------------------------------


def nginx_directives(conf: str, name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"^\s*{name}\s+([^;]*);", conf, re.MULTILINE)]


@pytest.mark.parametrize("engine", ["dicoogle", "orthanc"])
def test_nginx_conf_is_tls_only_and_proxies_to_loopback_only(request, engine):
    conf = (request.getfixturevalue(engine) / "nginx" / "nginx.conf").read_text()
    assert nginx_directives(conf, "ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    assert nginx_directives(conf, "proxy_pass") == [f"http://127.0.0.1:{GLOBALS['pacs_port_web']}"]
    assert nginx_directives(conf, "listen") == [f"{GLOBALS['pacs_port_admin_tls']} ssl default_server"]
    assert nginx_directives(conf, "ssl_prefer_server_ciphers") == ["off"]
    assert nginx_directives(conf, "ssl_session_tickets") == ["off"]
    assert nginx_directives(conf, "client_max_body_size") == ["64m"]
    assert nginx_directives(conf, "proxy_read_timeout") == ["300s"]
    assert "$http_host" in nginx_directives(conf, "proxy_set_header Host")
    for cipher in nginx_directives(conf, "ssl_ciphers")[0].split(":"):
        assert "GCM" in cipher or "POLY1305" in cipher
    assert any(h.startswith("Strict-Transport-Security") for h in nginx_directives(conf, "add_header"))
    # The login is in front of nginx (the ALB; in the lab its stand-in, role lab_alb).
    assert nginx_directives(conf, "auth_basic") == [] and nginx_directives(conf, "auth_basic_user_file") == []
    assert "location = /healthz" in conf
    assert nginx_directives(conf, "ssl_certificate") == ["/etc/nginx/tls/tls.crt"]
    assert nginx_directives(conf, "ssl_certificate_key") == ["/etc/nginx/tls/tls.key"]
    assert not nginx_directives(conf, "user")


def test_nginx_asks_for_its_own_basic_login_when_told(settings_render):
    dest = settings_render(
        ADMIN_USERS, "-e", "pacs_engine=orthanc", "-e", '{"pacs_settings_nginx_basic_auth": true}'
    ).dest
    conf = (dest / "nginx" / "nginx.conf").read_text()
    assert nginx_directives(conf, "auth_basic_user_file") == ["/etc/nginx/pacs/htpasswd"]
    assert nginx_directives(conf, "auth_basic") == ["off", '"PACS administration"']


def test_htpasswd_is_salted_sha512_crypt_and_private(dicoogle):
    htpasswd = dicoogle / "nginx" / "htpasswd"
    info = htpasswd.stat()
    assert stat.S_IMODE(info.st_mode) == 0o640
    assert info.st_gid == 1002
    name, hashed = htpasswd.read_text().strip().split(":", 1)
    assert name == ADMIN_USER
    assert re.match(r"^\$6\$[0-9a-f]{16}\$[./0-9A-Za-z]{86}$", hashed)
    assert ADMIN_PASSWORD not in htpasswd.read_text()
    if shutil.which("openssl"):
        salt = hashed.split("$")[2]
        again = subprocess.run(
            ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
            input=ADMIN_PASSWORD,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert again == hashed


# --- refusals -------------------------------------------------------------------------------

# Each case's variables as the inventory would give them (tests.support.settings_render.refuse_cases
# runs them all in one playbook run, as play variables), and the words its refusal must contain.
BAD_INPUTS = {
    "ae title of 17 characters": ({"pacs_aet": "ABCDEFGHIJKLMNOPQ"}, ["pacs_settings_aet", "pacs_aet", "1-16"]),
    "ae title with a backslash": ({"pacs_aet": "BAD\\AET"}, ["pacs_settings_aet", "must not contain a backslash"]),
    "ae title of spaces only": ({"pacs_client_aet": "    "}, ["pacs_settings_allowed_aets[0]", "only spaces"]),
    "duplicate ports": (
        {"pacs_port_query": 6666},
        ["pacs_settings_port_storage", "pacs_settings_port_query", "distinct"],
    ),
    "port 70000": ({"pacs_port_storage": 70000}, ["pacs_settings_port_storage", "1-65535"]),
    "move destination without port": (
        {"pacs_settings_move_destinations": [{"aetitle": "STORAGE-NODE", "address": "127.0.0.1"}]},
        ["pacs_settings_move_destinations", "port"],
    ),
    "unknown engine": ({"pacs_engine": "dcm4chee"}, ["pacs_settings_engine", "dicoogle, orthanc"]),
    "dicoogle version not x.y.z": ({"pacs_dicoogle_version": "3.5"}, ["pacs_settings_dicoogle_version", "x.y.z"]),
    "no caller listed": ({"pacs_settings_allowed_aets": []}, ["pacs_settings_allowed_aets", "at least one"]),
    "basic auth without users": (
        {"pacs_admin_users": [], "pacs_settings_nginx_basic_auth": True},
        ["pacs_settings_admin_users", "at least one user"],
    ),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory) -> tuple[PlaybookRun, dict[str, Path]]:
    """Every bad input of BAD_INPUTS through the role, in one playbook run."""
    cases = {name: variables for name, (variables, _) in BAD_INPUTS.items()}
    return refuse_cases(tmp_path_factory.mktemp("refusals"), ADMIN_USERS, cases)


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_is_refused_before_any_file_is_written(refusals, case):
    run, folders = refusals
    words = BAD_INPUTS[case][1]
    dest = folders[case]
    refusal_file = dest.parent / f"{dest.name}.refusal.json"
    assert refusal_file.exists(), f"the role accepted {case!r}:\n{run.report()}"
    refusal = refusal_file.read_text()
    for word in words:
        assert word in refusal, f"{word!r} not in the refusal:\n{refusal[-3000:]}"
    assert list(dest.iterdir()) == [], "a file was written despite the refusal"


def test_the_refusals_run_rescued_every_case_and_nothing_else_failed(refusals):
    run, _ = refusals
    assert run.returncode == 0, run.report()
    assert run.recap["localhost"]["rescued"] == len(BAD_INPUTS), run.report()
    assert ADMIN_PASSWORD not in run.output


# --- idempotence and secrecy ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["dicoogle", "orthanc"])
def test_a_second_render_changes_nothing(request, engine):
    first: Render = request.getfixturevalue(f"{engine}_render")
    assert first.run.changed > 0, first.run.report()
    second = render(first.dest, "-e", f"pacs_engine={engine}")
    assert second.returncode == 0, second.report()
    assert second.changed == 0, second.output
    check = render(first.dest, "-e", f"pacs_engine={engine}", "--check", "--diff")
    assert check.returncode == 0 and check.changed == 0, check.output


def test_a_changed_port_fires_the_hooks_once_and_a_failed_nginx_check_stops_the_reload(dicoogle_render, tmp_path):
    """A port change is a change of engine and nginx settings (not htpasswd); each hook runs once, check first."""
    dest = copy_of(dicoogle_render, tmp_path)
    outputs = tmp_path / "outputs.json"
    log = tmp_path / "hooks.log"
    hooks = tmp_path / "hooks.json"
    hooks.write_text(
        json.dumps(
            {
                f"pacs_settings_{name}_argv": ["sh", "-c", f"echo {word} >> {log}"]
                for name, word in (("nginx_check", "check"), ("nginx_reload", "reload"), ("engine_restart", "restart"))
            }
        )
    )
    changed_port = ("-e", "pacs_port_web=8081", "-e", f"@{hooks}")
    run = render(dest, *changed_port, outputs=outputs)
    assert run.returncode == 0, run.report()
    assert json.loads(outputs.read_text())["changed"] == {"engine": True, "nginx": True, "htpasswd": False}
    assert 'port="8081"' in (dest / "confs" / "server.xml").read_text()
    assert log.read_text().split() == ["check", "reload", "restart"]
    log.unlink()
    assert render(dest, *changed_port).returncode == 0
    assert not log.exists(), "a hook ran although nothing changed"
    # A failing check stops the play before the reload.
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps({"pacs_settings_nginx_check_argv": ["false"]}))
    run = render(dest, *changed_port, "-e", f"@{failing}", "-e", "pacs_settings_nginx_hsts=max-age=600")
    assert run.returncode != 0
    assert not log.exists() or "reload" not in log.read_text()


def test_no_password_or_hash_appears_in_the_output(dicoogle_render, tmp_path):
    hashed = (dicoogle_render.dest / "nginx" / "htpasswd").read_text().split(":", 1)[1].strip()
    assert ADMIN_PASSWORD not in dicoogle_render.run.output
    assert hashed not in dicoogle_render.run.output
    # A change of password hash is a change, and still not shown.
    dest = copy_of(dicoogle_render, tmp_path)
    rerun = render(dest, "-e", "pacs_engine=dicoogle", "-v", "--diff", "-e", "pacs_settings_htpasswd_salt_seed=other")
    assert rerun.returncode == 0 and rerun.changed > 0, rerun.output
    rehashed = (dest / "nginx" / "htpasswd").read_text().split(":", 1)[1].strip()
    assert rehashed != hashed
    assert ADMIN_PASSWORD not in rerun.output
    assert rehashed not in rerun.output


def test_orthanc_users_are_written_private_and_never_shown(settings_render):
    orthanc_password = ADMIN_PASSWORD + "-o"
    users = dict(
        ADMIN_USERS,
        pacs_settings_orthanc_authentication_enabled=True,
        pacs_settings_orthanc_registered_users=[{"name": "orthanc", "password": orthanc_password}],
    )
    done = settings_render(users, "-e", "pacs_engine=orthanc")
    orthanc_json = done.dest / "orthanc" / "orthanc.json"
    assert stat.S_IMODE(orthanc_json.stat().st_mode) == 0o640
    assert json.loads(orthanc_json.read_text())["RegisteredUsers"] == {"orthanc": orthanc_password}
    hashed = (done.dest / "nginx" / "htpasswd").read_text().split(":", 1)[1].strip()
    assert ADMIN_PASSWORD not in done.run.output
    assert hashed not in done.run.output

"""The PACS task's definition (role pacs_task) and the lab's runner of it (role lab_pacs_task)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import tarfile

import pytest
from ansible.errors import AnsibleFilterError

from tests.support.plugins import load_role_filter

definition = load_role_filter("pacs_task", "pacs_task_definition")
runner = load_role_filter("lab_pacs_task", "lab_pacs_task_ecs")

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dep/"
EDGE_ARN = ARN + "pki/pacs-edge-AbCdEf"
ADMIN_ARN = ARN + "pki/admin-web-AbCdEf"
SETTINGS_ARN = ARN + "pacs/settings-AbCdEf"
POLICY_ARN = ARN + "pacs/edge-policy-AbCdEf"
DIGEST = "sha256:" + "a" * 64
PATHS = {
    "dicoogle": {
        "images": "/srv/pacs/images",
        "index": "/srv/pacs/index",
        "workdir": "/var/lib/dicoogle",
        "environment": {"PACS_DICOOGLE_WORKDIR": "/var/lib/dicoogle"},
        "indexer": {
            "entrypoint": "/usr/local/bin/pacs-dicoogle-indexer",
            "landing": "/srv/pacs/images/froms3",
            "inbox": ".pacs-ingest",
            "records": "/var/lib/dicoogle/ingest",
        },
    },
    "orthanc": {
        "images": "/var/lib/orthanc/storage",
        "index": "/var/lib/orthanc/index",
        "workdir": "/var/lib/orthanc/users",
        "command": ["Orthanc", "/etc/pacs-settings/orthanc/"],
        "environment": {"TCP_NODELAY": "1"},
    },
}


def spec(**changes):
    base = {
        "engine": "dicoogle",
        "images": {name: f"reg/dep/{name}@{DIGEST}" for name in ("pacs", "nginx", "ghostunnel")},
        "users": {"pacs": "1001:1001", "nginx": "1002:1002", "ghostunnel": "1003:1003"},
        "ports": {
            "web": 8080,
            "storage": 6666,
            "query": 1045,
            "admin_tls": 8443,
            "storage_tls": 16666,
            "query_tls": 11045,
            "move_forward": 17777,
        },
        "dimse_targets": {"storage": 6666, "query": 1045},
        "engine_paths": PATHS,
        "settings_mount": "/etc/pacs-settings",
        "settings_digest": "b" * 64,
        "tls_dir": "/run/pacs-tls",
        "nginx_run_dir": "/run/nginx",
        "secret_arns": {
            "pacs-edge": EDGE_ARN,
            "admin-web": ADMIN_ARN,
            "settings": SETTINGS_ARN,
            "edge-policy": POLICY_ARN,
        },
        "move_tunnels": [
            {
                "container": "ghostunnel-move",
                "listen": 17777,
                "host": "storage.pacs.internal",
                "port": "7777",
                "cn": "storage-node",
            }
        ],
        "environment_extra": {},
        "log_configuration": {},
    }
    base.update(changes)
    return base


def by_name(containers):
    return {c["name"]: c for c in containers}


def test_the_definition_lists_its_containers_in_order_the_indexer_for_dicoogle_only():
    containers = definition.pacs_task_containers(spec())
    assert [c["name"] for c in containers] == list(definition.CONTAINER_NAMES)
    orthanc = definition.pacs_task_containers(spec(engine="orthanc", dimse_targets={"storage": 4242, "query": 4242}))
    assert [c["name"] for c in orthanc] == [n for n in definition.CONTAINER_NAMES if n != "indexer"]


def test_the_indexer_reaches_dicoogle_inside_the_task_and_writes_only_its_volumes():
    containers = by_name(definition.pacs_task_containers(spec()))
    indexer, pacs = containers["indexer"], containers["pacs"]
    assert indexer["essential"] is False and indexer["dependsOn"] == [{"containerName": "pacs", "condition": "START"}]
    assert indexer["image"] == pacs["image"] and indexer["user"] == pacs["user"]
    assert indexer["entryPoint"] == ["/usr/local/bin/pacs-dicoogle-indexer"]
    env = {e["name"]: e["value"] for e in indexer["environment"]}
    assert env == {
        "PACS_INDEXER_LANDING": "/srv/pacs/images/froms3",
        "PACS_INDEXER_INBOX": ".pacs-ingest",
        "PACS_INDEXER_RECORDS": "/var/lib/dicoogle/ingest",
        "PACS_DICOOGLE_WEB_PORT": "8080",
    }
    mounts = {m["sourceVolume"]: m["containerPath"] for m in indexer["mountPoints"]}
    pacs_mounts = {m["sourceVolume"]: m["containerPath"] for m in pacs["mountPoints"]}
    # The landing folder and the records are where the PACS sees them.
    assert env["PACS_INDEXER_LANDING"].startswith(pacs_mounts["images"] + "/")
    assert env["PACS_INDEXER_RECORDS"].startswith(pacs_mounts["users"] + "/")
    assert mounts == {"images": "/srv/pacs/images", "users": "/var/lib/dicoogle", "indexer-tmp": "/tmp"}  # noqa: S108
    assert indexer["readonlyRootFilesystem"] is True and indexer["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert "portMappings" not in indexer and "secrets" not in indexer


def test_every_container_is_non_root_read_only_and_drops_every_capability():
    for container in definition.pacs_task_containers(spec()):
        assert container["readonlyRootFilesystem"] is True
        assert container["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
        assert not container["user"].startswith("0:")


def test_settings_run_first_and_the_engine_and_nginx_wait_for_their_success():
    c = by_name(definition.pacs_task_containers(spec()))
    assert c["settings"]["essential"] is False
    assert c["settings"]["secrets"] == [{"name": "PACS_SETTINGS_BUNDLE", "valueFrom": SETTINGS_ARN}]
    assert {"name": "PACS_SETTINGS_DIGEST", "value": "b" * 64} in c["settings"]["environment"]
    for name in ("pacs", "nginx"):
        assert c[name]["dependsOn"] == [{"containerName": "settings", "condition": "SUCCESS"}]
        assert c[name]["dockerLabels"]["pacs.settings-sha256"] == "b" * 64


def test_dicoogle_mounts_the_settings_contract():
    pacs = by_name(definition.pacs_task_containers(spec()))["pacs"]
    mounts = {m["containerPath"]: (m["sourceVolume"], m["readOnly"]) for m in pacs["mountPoints"]}
    assert pacs["workingDirectory"] == "/var/lib/dicoogle"
    assert mounts == {
        "/etc/pacs-settings": ("confs", True),
        "/srv/pacs/images": ("images", False),
        "/srv/pacs/index": ("index", False),
        "/var/lib/dicoogle": ("users", False),
        "/tmp": ("pacs-tmp", False),  # noqa: S108 - a path in the container
    }
    assert "command" not in pacs, "Dicoogle's image starts it (pacs-dicoogle-start)"


def test_orthanc_gets_its_command_and_one_dicom_port():
    pacs = by_name(
        definition.pacs_task_containers(spec(engine="orthanc", dimse_targets={"storage": 4242, "query": 4242}))
    )
    assert pacs["pacs"]["command"] == ["Orthanc", "/etc/pacs-settings/orthanc/"]
    assert [p["containerPort"] for p in pacs["pacs"]["portMappings"]] == [4242, 8080]
    assert "--target=127.0.0.1:4242" in pacs["ghostunnel-query"]["command"]


def test_the_tls_wrapper_writes_where_nginx_and_ghostunnel_read():
    c = by_name(definition.pacs_task_containers(spec()))
    script = c["nginx"]["entryPoint"][2]
    for name in ("tls.crt", "tls.key", "ca.crt"):
        assert f'"/run/pacs-tls/{name}"' in script
    assert "--key=/run/pacs-tls/tls.key" in c["ghostunnel-storage"]["command"]
    assert {m["containerPath"] for m in c["nginx"]["mountPoints"]} >= {"/run/pacs-tls", "/run/nginx"}
    assert c["ghostunnel-move"]["command"][2:5] == [
        "--listen=127.0.0.1:17777",
        "--target=storage.pacs.internal:7777",
        "--verify-cn=storage-node",
    ]
    assert c["ghostunnel-query"]["command"][-2:] == [
        "--allow-policy=/run/pacs-tls/edge.rego",
        "--allow-query=data.pacs.edge.query",
    ]
    assert c["ghostunnel-storage"]["command"][-2:] == [
        "--allow-policy=/run/pacs-tls/edge.rego",
        "--allow-query=data.pacs.edge.storage",
    ]
    # OPA is exclusive with ghostunnel's other access flags: none is left.
    for container in c.values():
        assert not [a for a in container.get("command") or [] if a.startswith(("--allow-cn", "--allow-all"))]


def test_the_tls_wrapper_writes_0600_files_and_drops_the_key(tmp_path):
    entry = definition.pacs_task_tls_entrypoint(str(tmp_path / "tls"))
    env = {"TLS_CERTIFICATE": "CERT", "TLS_PRIVATE_KEY": "KEY", "TLS_CA_CERTIFICATE": "CA", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        entry + ["sh", "-c", 'echo "key=${TLS_PRIVATE_KEY:-gone}"'], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "key=gone"
    assert (tmp_path / "tls" / "tls.key").read_text() == "KEY\n"
    assert oct((tmp_path / "tls" / "tls.key").stat().st_mode & 0o777) == "0o600"


# --- the edge policy and the move tunnels -------------------------------------------------------

POLICY = "package pacs.edge\n\ndefault storage := false\n"


def _run_tls(tmp_path, **env):
    """The TLS wrapper with /bin/sh, as the containers' entry point runs it (command `true`: the lab's
    in-place rotation)."""
    base = {"TLS_CERTIFICATE": "CERT", "TLS_PRIVATE_KEY": "KEY", "TLS_CA_CERTIFICATE": "CA", "PATH": "/usr/bin:/bin"}
    entry = definition.pacs_task_tls_entrypoint(str(tmp_path / "tls"))
    return subprocess.run(entry + ["true"], env=dict(base, **env), capture_output=True, text=True, check=False)


def test_the_edges_read_the_policy_secret_beside_their_certificate_and_no_one_else_does():
    c = by_name(definition.pacs_task_containers(spec()))
    policy = {"name": "TLS_EDGE_POLICY", "valueFrom": POLICY_ARN + ":policy::"}
    for name in ("ghostunnel-storage", "ghostunnel-query"):
        assert policy in c[name]["secrets"]
        assert [s["name"] for s in c[name]["secrets"]] == [
            "TLS_CA_CERTIFICATE",
            "TLS_CERTIFICATE",
            "TLS_EDGE_POLICY",
            "TLS_PRIVATE_KEY",
        ]
    for name in ("nginx", "ghostunnel-move"):
        assert "TLS_EDGE_POLICY" not in [s["name"] for s in c[name]["secrets"]]
    arns = dict(spec()["secret_arns"])
    del arns["edge-policy"]
    with pytest.raises(ValueError, match="edge-policy"):
        definition.pacs_task_containers(spec(secret_arns=arns))


def test_the_tls_wrapper_writes_the_edge_policy_only_when_it_is_given(tmp_path):
    done = _run_tls(tmp_path / "edge", TLS_EDGE_POLICY=POLICY)
    assert done.returncode == 0, done.stderr
    rego = tmp_path / "edge" / "tls" / "edge.rego"
    assert rego.read_text() == POLICY, "byte for byte: the rendered text ends with its own newline"
    assert oct(rego.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in rego.parent.iterdir()) == ["ca.crt", "edge.rego", "tls.crt", "tls.key"]
    # Again with another policy (the lab's rotation): replaced, nothing left beside it.
    assert _run_tls(tmp_path / "edge", TLS_EDGE_POLICY=POLICY + "# v2\n").returncode == 0
    assert rego.read_text() == POLICY + "# v2\n"
    assert not list(rego.parent.glob("*.new"))
    # nginx and the move tunnels have no such variable: no file.
    done = _run_tls(tmp_path / "nginx")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "nginx" / "tls").iterdir()) == ["ca.crt", "tls.crt", "tls.key"]


def test_the_tls_wrapper_refuses_an_empty_policy_and_keeps_the_old_one(tmp_path):
    assert _run_tls(tmp_path, TLS_EDGE_POLICY=POLICY).returncode == 0
    refused = _run_tls(tmp_path, TLS_EDGE_POLICY="")
    assert refused.returncode == 1
    assert "pacs-tls: TLS_EDGE_POLICY is empty" in refused.stderr
    assert (tmp_path / "tls" / "edge.rego").read_text() == POLICY


def tunnel(container, listen, host="storage.pacs.internal", port=7777, cn="storage-node", **extra):
    return dict({"container": container, "listen": listen, "host": host, "port": port, "cn": cn}, **extra)


TUNNELS = [
    tunnel("ghostunnel-move-zeta", 17779, "zeta.pacs.internal", 7777, "zeta"),
    tunnel("ghostunnel-move-modality-1", 17778, "modality-1.pacs.internal", 104, "modality-1", peer="modality-1"),
    tunnel("ghostunnel-move", 17777),
]


def test_one_move_tunnel_per_destination_the_default_first_then_by_name():
    containers = definition.pacs_task_containers(spec(move_tunnels=TUNNELS))
    names = [c["name"] for c in containers]
    assert names == [
        "settings",
        "pacs",
        "nginx",
        "ghostunnel-storage",
        "ghostunnel-query",
        "ghostunnel-move",
        "ghostunnel-move-modality-1",
        "ghostunnel-move-zeta",
        "indexer",
    ]
    c = by_name(containers)
    assert c["ghostunnel-move-modality-1"]["command"] == [
        "/usr/bin/ghostunnel",
        "client",
        "--listen=127.0.0.1:17778",
        "--target=modality-1.pacs.internal:104",
        "--verify-cn=modality-1",
        "--cert=/run/pacs-tls/tls.crt",
        "--key=/run/pacs-tls/tls.key",
        "--cacert=/run/pacs-tls/ca.crt",
    ]
    assert c["ghostunnel-move-zeta"]["mountPoints"] == [
        {"sourceVolume": "ghostunnel-move-zeta-tls", "containerPath": "/run/pacs-tls", "readOnly": False}
    ]
    assert c["ghostunnel-move-zeta"]["secrets"] == c["ghostunnel-move"]["secrets"], "the PACS's own certificate"
    assert "portMappings" not in c["ghostunnel-move-zeta"], "loopback only, inside the task"
    scratch = definition.pacs_task_scratch_volumes(containers)
    assert [v for v in scratch if v.startswith("ghostunnel-move")] == [
        "ghostunnel-move-tls",
        "ghostunnel-move-modality-1-tls",
        "ghostunnel-move-zeta-tls",
    ]
    # The list's order does not matter: the same definition.
    assert definition.pacs_task_containers(spec(move_tunnels=list(reversed(TUNNELS)))) == containers
    # Every container still gets its own task storage in the lab.
    plan = runner.lab_pacs_task_docker(labelled(move_tunnels=TUNNELS), OPTS)
    assert len({s["name"] for s in plan}) == len(containers)


def test_without_the_default_destination_the_other_tunnels_follow_the_edges():
    orthanc = definition.pacs_task_containers(
        spec(engine="orthanc", dimse_targets={"storage": 4242, "query": 4242}, move_tunnels=TUNNELS[:2])
    )
    assert [c["name"] for c in orthanc][3:] == [
        "ghostunnel-storage",
        "ghostunnel-query",
        "ghostunnel-move-modality-1",
        "ghostunnel-move-zeta",
    ]


@pytest.mark.parametrize(
    ("tunnels", "words"),
    [
        ([], "may not be empty"),
        ([tunnel("ghostunnel-move", 17777), tunnel("ghostunnel-move", 17778)], "repeats pacs_task_move_tunnels[0]"),
        ([tunnel("ghostunnel-move", 17777), tunnel("ghostunnel-move-b", 17777)], "listen 17777 repeats"),
        ([tunnel("ghostunnel-move-b", 11045)], "the task's query_tls port"),
        ([tunnel("ghostunnel-move-b", 8080)], "the task's web port"),
        ([tunnel("ghostunnel-move-b", 70000)], "between 1 and 65535"),
        ([tunnel("ghostunnel-move-B", 17778)], "ghostunnel-move-<DNS label>"),
        ([tunnel("move-b", 17778)], "ghostunnel-move-<DNS label>"),
        ([tunnel("ghostunnel-move-b", 17778, cn="")], "needs cn"),
        ([tunnel("ghostunnel-move-b", 17778, host="a b")], "must be a DNS name"),
        ([tunnel("ghostunnel-move-b", 17778, port="x")], ".port must be a port"),
        ([tunnel(f"ghostunnel-move-{n}", 17780 + n) for n in range(5)], "room for 4 beside its 6 other containers"),
        ("ghostunnel-move", "must be a list"),
    ],
)
def test_move_tunnels_that_cannot_run_are_refused(tunnels, words):
    ports = spec()["ports"]
    problems = definition.pacs_task_move_tunnel_problems(tunnels, ports, PATHS["dicoogle"])
    assert any(words in p for p in problems), problems
    with pytest.raises(ValueError, match=re.escape(words)):
        definition.pacs_task_containers(spec(move_tunnels=tunnels))


def test_a_tunnel_may_take_the_move_forward_port_and_orthanc_has_room_for_five():
    ports = spec()["ports"]
    assert definition.pacs_task_move_tunnel_problems([tunnel("ghostunnel-move", "17777")], ports) == []
    five = [tunnel("ghostunnel-move", 17777)] + [tunnel(f"ghostunnel-move-{n}", 17780 + n) for n in range(4)]
    assert definition.pacs_task_move_tunnel_problems(five, ports, PATHS["orthanc"]) == []
    assert definition.pacs_task_move_tunnel_problems(five, ports, PATHS["dicoogle"]) != []


def _bundle(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def _run_settings(tmp_path, bundle, digest):
    settings = by_name(definition.pacs_task_containers(spec()))["settings"]
    env = {
        "PATH": "/usr/bin:/bin",
        "PACS_SETTINGS_BUNDLE": base64.b64encode(bundle).decode(),
        "PACS_SETTINGS_DIGEST": digest,
        "PACS_SETTINGS_DIR": str(tmp_path),
    }
    return subprocess.run(settings["entryPoint"], env=env, capture_output=True, text=True, check=False)


def test_the_settings_container_writes_a_bundle_with_the_right_digest_and_removes_what_it_lost(tmp_path):
    (tmp_path / "orthanc").mkdir()
    (tmp_path / "orthanc" / "old.json").write_text("{}")
    bundle = _bundle({"nginx/nginx.conf": "events {}", "confs/server.xml": "<server/>"})
    done = _run_settings(tmp_path, bundle, hashlib.sha256(bundle).hexdigest())
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".digest", "confs", "nginx"]
    assert (tmp_path / "nginx" / "nginx.conf").read_text() == "events {}"


def test_the_settings_container_refuses_a_bundle_with_another_digest_and_writes_nothing(tmp_path):
    (tmp_path / "nginx").mkdir()
    (tmp_path / "nginx" / "nginx.conf").write_text("kept")
    refused = _run_settings(tmp_path, _bundle({"nginx/nginx.conf": "new"}), "c" * 64)
    assert refused.returncode == 1
    assert "expects " + "c" * 64 in refused.stderr
    assert (tmp_path / "nginx" / "nginx.conf").read_text() == "kept"


def test_volumes_one_per_access_point_then_task_storage():
    volumes = definition.pacs_task_volumes({"index": "fsap-2", "confs": "fsap-1"}, "fs-1", ["nginx-tls"])
    assert [v["name"] for v in volumes] == ["confs", "index", "nginx-tls"]
    assert volumes[0]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-1",
        "rootDirectory": "/",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"},
    }
    assert volumes[2] == {"name": "nginx-tls"}
    assert definition.pacs_task_volumes({"confs": "confs"}, "", []) == [{"name": "confs"}], "the lab: by name only"


EDGE_SECRETS = [{"name": "TLS_CERTIFICATE", "valueFrom": EDGE_ARN + ":certificate::"}]


def test_labelled_containers_carry_their_secret_version():
    containers = [{"name": "pacs", "image": "p"}, {"name": "tunnel", "image": "g", "secrets": EDGE_SECRETS}]
    pacs, tunnel = definition.pacs_task_labelled(containers, {"pacs-edge": EDGE_ARN}, {"pacs-edge": "v-1"})
    assert set(pacs["dockerLabels"]) == {"pacs.definition-sha256"}
    assert tunnel["dockerLabels"]["pacs.tls-secret"] == "pacs-edge"
    assert tunnel["dockerLabels"]["pacs.tls-secret-version"] == "v-1"
    assert "dockerLabels" not in containers[1], "the input is left as it was"


def test_labelled_containers_change_with_any_list_item_or_secret_version():
    base = [{"name": "tunnel", "command": ["server", "--allow-cn=a"], "secrets": EDGE_SECRETS}]
    arns = {"pacs-edge": EDGE_ARN}

    def digest(containers, version):
        (container,) = definition.pacs_task_labelled(containers, arns, {"pacs-edge": version})
        return container["dockerLabels"]["pacs.definition-sha256"]

    same_length_command = [dict(base[0], command=["server", "--allow-cn=b"])]
    assert digest(base, "v-1") == digest(base, "v-1")
    assert digest(base, "v-1") != digest(same_length_command, "v-1")
    assert digest(base, "v-1") != digest(base, "v-2")


def test_labelled_containers_without_a_known_version_say_so():
    (tunnel,) = definition.pacs_task_labelled([{"name": "t", "secrets": EDGE_SECRETS}], {"pacs-edge": EDGE_ARN}, {})
    assert tunnel["dockerLabels"]["pacs.tls-secret-version"] == "unknown"


# --- the lab's runner ---------------------------------------------------------------------------

SECRETS = {
    EDGE_ARN: json.dumps({"certificate": "E-CERT", "private_key": "E-KEY", "ca_certificate": "CA"}),
    ADMIN_ARN: json.dumps({"certificate": "A-CERT", "private_key": "A-KEY", "ca_certificate": "CA"}),
    SETTINGS_ARN: "QUJD",
    POLICY_ARN: json.dumps({"policy": "package pacs.edge\n"}),
}
OPTS = {
    "prefix": "lab",
    "holder": "lab-task",
    "task_label": "io.pacs.lab.task",
    "access_points": ["confs", "images", "index", "users"],
    "secrets": SECRETS,
}


# What tasks/definition.yml labels: the PKI's secrets and the edge policy's.
LABELLED_ARNS = {"pacs-edge": EDGE_ARN, "admin-web": ADMIN_ARN, "edge-policy": POLICY_ARN}


def labelled(versions=None, **changes):
    return definition.pacs_task_labelled(
        definition.pacs_task_containers(spec(**changes)),
        LABELLED_ARNS,
        dict({"pacs-edge": "v1", "admin-web": "v1", "edge-policy": "p1"}, **(versions or {})),
    )


def test_the_runner_lists_the_secrets_by_arn():
    assert runner.lab_pacs_task_secret_arns(labelled()) == sorted([EDGE_ARN, ADMIN_ARN, SETTINGS_ARN, POLICY_ARN])


def test_the_runner_gives_each_container_what_ecs_would():
    plan = {step["name"]: step for step in runner.lab_pacs_task_docker(labelled(), OPTS)}
    assert list(plan)[0] == "settings"
    nginx = plan["nginx"]["params"]
    assert nginx["name"] == "lab-nginx" and nginx["network_mode"] == "container:lab-task"
    assert nginx["env"]["TLS_PRIVATE_KEY"] == "A-KEY" and nginx["env"]["TLS_CERTIFICATE"] == "A-CERT"
    assert nginx["volumes"] == ["lab-confs:/etc/pacs-settings:ro", "/run/nginx", "/run/pacs-tls"]
    assert nginx["read_only"] is True and nginx["cap_drop"] == ["ALL"] and nginx["user"] == "1002:1002"
    assert nginx["labels"]["io.pacs.lab.task"] == "lab"
    assert "pacs.tls-secret-version" not in nginx["labels"] and "pacs.definition-sha256" not in nginx["labels"]
    settings = plan["settings"]["params"]
    assert settings["env"]["PACS_SETTINGS_BUNDLE"] == "QUJD"
    assert settings["restart_policy"] == "no" and settings["detach"] is False
    # Not essential and awaited by none: it runs beside the others, and is not restarted.
    indexer = plan["indexer"]
    assert indexer["run_once"] is False and plan["settings"]["run_once"] is True
    assert indexer["params"]["detach"] is True and indexer["params"]["restart_policy"] == "no"
    assert indexer["params"]["volumes"] == ["lab-images:/srv/pacs/images", "lab-users:/var/lib/dicoogle", "/tmp"]  # noqa: S108
    pacs = plan["pacs"]["params"]
    assert pacs["working_dir"] == "/var/lib/dicoogle" and pacs["init"] is True
    assert pacs["healthcheck"]["test"][:2] == ["CMD", "bash"] and pacs["healthcheck"]["interval"] == "10s"


def test_a_rotation_changes_the_secret_versions_but_not_the_container_sha():
    before = {s["name"]: s for s in runner.lab_pacs_task_docker(labelled(), OPTS)}
    rotated = labelled({"pacs-edge": "v2", "admin-web": "v2"})
    after = {s["name"]: s for s in runner.lab_pacs_task_docker(rotated, OPTS)}
    assert all(before[n]["sha"] == after[n]["sha"] for n in before)
    assert after["nginx"]["secret_versions"] == "v2" != before["nginx"]["secret_versions"]  # noqa: S105 - a version id
    changed = {s["name"]: s for s in runner.lab_pacs_task_docker(labelled(environment_extra={"X": "1"}), OPTS)}
    assert changed["pacs"]["sha"] != before["pacs"]["sha"] and changed["nginx"]["sha"] == before["nginx"]["sha"]


def _running(step, running=True, exit_code=0):
    return {
        "item": step["name"],
        "container": {
            "Config": {
                "Labels": {
                    key: value
                    for key, value in step["params"]["labels"].items()
                    if key in ("io.pacs.lab.container-sha256", "io.pacs.lab.volumes")
                }
            },
            "State": {"Running": running, "ExitCode": exit_code},
        },
    }


def test_actions_create_keep_or_rotate():
    plan = runner.lab_pacs_task_docker(labelled(), OPTS)
    steps = {s["name"]: s for s in plan}
    running = [_running(s, running=not s["run_once"]) for s in plan]
    applied = {s["name"]: s["secret_versions"] for s in plan}
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(plan, running, applied)}
    assert set(acts.values()) == {"keep"}
    stale = dict(applied, nginx="v0")
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(plan, running, stale)}
    assert acts["nginx"] == "rotate" and acts["pacs"] == "keep"
    failed = [_running(s, running=False, exit_code=1) if s["name"] == "settings" else _running(s) for s in plan]
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(plan, failed, applied)}
    assert acts["settings"] == "create"
    missing = [r for r in running if r["item"] != "pacs"] + [{"item": "pacs", "container": None}]
    acts = {s["name"]: s for s in runner.lab_pacs_task_actions(plan, missing, applied, ["settings", "nginx"])}
    assert acts["pacs"]["action"] == "create" and acts["nginx"]["action"] == "create"
    assert acts["nginx"]["params"]["recreate"] is True and "recreate" not in steps["nginx"]["params"]


def test_a_rotated_container_is_reloaded_by_what_its_program_takes():
    plan = {s["name"]: s for s in runner.lab_pacs_task_docker(labelled(), OPTS)}
    rotated = [plan["nginx"], plan["ghostunnel-query"]]
    assert runner.lab_pacs_task_reloads(rotated) == [
        ["docker", "exec", "lab-nginx", "nginx", "-t", "-q", "-c", "/etc/pacs-settings/nginx/nginx.conf"],
        ["docker", "exec", "lab-nginx", "nginx", "-s", "reload", "-c", "/etc/pacs-settings/nginx/nginx.conf"],
        ["docker", "kill", "--signal=HUP", "lab-ghostunnel-query"],
    ]
    assert runner.lab_pacs_task_reloads([]) == []
    with pytest.raises(AnsibleFilterError, match="'pacs'.*no known reload"):
        runner.lab_pacs_task_reloads([plan["pacs"]])


def test_the_runner_refuses_what_it_cannot_run():
    containers = labelled()
    with pytest.raises(AnsibleFilterError, match="was not read"):
        runner.lab_pacs_task_docker(containers, dict(OPTS, secrets={}))
    cycle = [dict(containers[0], dependsOn=[{"containerName": "pacs", "condition": "START"}])] + containers[1:]
    with pytest.raises(AnsibleFilterError, match="dependsOn cycle"):
        runner.lab_pacs_task_docker(cycle, OPTS)
    shared = [
        dict(c, mountPoints=[{"sourceVolume": "scratch", "containerPath": "/x", "readOnly": False}]) for c in containers
    ]
    with pytest.raises(AnsibleFilterError, match="task storage shared"):
        runner.lab_pacs_task_docker(shared, OPTS)
    with pytest.raises(AnsibleFilterError, match="names a version"):
        runner.lab_pacs_task_secret_arns(
            [{"secrets": [{"name": "X", "valueFrom": EDGE_ARN + ":certificate:AWSPREVIOUS:"}]}]
        )
    with pytest.raises(AnsibleFilterError, match="not a Secrets Manager ARN"):
        runner.lab_pacs_task_secret_arns([{"secrets": [{"name": "X", "valueFrom": "arn:aws:ssm:x"}]}])


def test_the_described_definition_comes_back_to_the_apis_names():
    described = {
        "container_definitions": [
            {
                "docker_labels": {"pacs.tls-secret": "x"},
                "depends_on": [{"container_name": "settings"}],
                "readonly_root_filesystem": True,
                "environment": [{"name": "PACS_X", "value": "1"}],
            }
        ]
    }
    camel = runner.lab_pacs_task_camel(described)
    container = camel["containerDefinitions"][0]
    assert container["dockerLabels"] == {"pacs.tls-secret": "x"}
    assert container["dependsOn"] == [{"containerName": "settings"}]
    assert container["readonlyRootFilesystem"] is True and container["environment"] == [
        {"name": "PACS_X", "value": "1"}
    ]


def test_a_restore_moves_the_containers_onto_the_named_volumes_and_changes_their_labels():
    before = {s["name"]: s["params"] for s in runner.lab_pacs_task_docker(labelled(), OPTS)}
    moved_opts = dict(OPTS, volume_names={"images": "lab-images-r20261206T031500Z"})
    after = {s["name"]: s["params"] for s in runner.lab_pacs_task_docker(labelled(), moved_opts)}
    assert after["indexer"]["volumes"][0] == "lab-images-r20261206T031500Z:/srv/pacs/images"
    # docker_container compares labels, not volumes: the label tells the moved container apart.
    assert before["indexer"]["labels"]["io.pacs.lab.volumes"] != after["indexer"]["labels"]["io.pacs.lab.volumes"]
    assert "lab-images-r20261206T031500Z:/srv/pacs/images" in after["indexer"]["labels"]["io.pacs.lab.volumes"]
    # A container without an access point's volume is not touched.
    assert before["nginx"]["labels"] == after["nginx"]["labels"]
    # Task storage (no access point) carries no volume label.
    assert all(
        "io.pacs.lab.volumes" not in s["labels"] for s in after.values() if not any(":" in v for v in s["volumes"])
    )


def test_containers_moved_onto_other_volumes_are_made_again_the_others_kept():
    plan = runner.lab_pacs_task_docker(labelled(), OPTS)
    running = [_running(s, running=not s["run_once"]) for s in plan]
    applied = {s["name"]: s["secret_versions"] for s in plan}
    moved = runner.lab_pacs_task_docker(labelled(), dict(OPTS, volume_names={"images": "lab-images-r20261206T031500Z"}))
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(moved, running, applied)}
    assert acts["pacs"] == "create" and acts["indexer"] == "create"
    assert acts["ghostunnel-storage"] == "keep"


def test_a_new_edge_policy_is_a_rotation_of_the_two_edges_only():
    """A changed policy is a new version of its secret: the edges' definition sha (what the lab compares)
    stays, their secret versions change, so the lab rewrites the files in place and sends SIGHUP."""
    plan = runner.lab_pacs_task_docker(labelled(), OPTS)
    steps = {s["name"]: s for s in plan}
    for name in ("ghostunnel-storage", "ghostunnel-query"):
        labels = by_name(labelled())[name]["dockerLabels"]
        assert labels["pacs.tls-secret"] == "edge-policy,pacs-edge"
        assert labels["pacs.tls-secret-version"] == "p1,v1"
        assert steps[name]["params"]["env"]["TLS_EDGE_POLICY"] == "package pacs.edge\n"
    assert by_name(labelled())["ghostunnel-move"]["dockerLabels"]["pacs.tls-secret"] == "pacs-edge"
    new_policy = runner.lab_pacs_task_docker(labelled({"edge-policy": "p2"}), OPTS)
    assert [s["sha"] for s in new_policy] == [s["sha"] for s in plan]
    running = [_running(s, running=not s["run_once"]) for s in plan]
    applied = {s["name"]: s["secret_versions"] for s in plan}
    acted = runner.lab_pacs_task_actions(new_policy, running, applied)
    rotated = [s for s in acted if s["action"] == "rotate"]
    assert [s["name"] for s in rotated] == ["ghostunnel-storage", "ghostunnel-query"]
    assert {s["action"] for s in acted if s not in rotated} == {"keep"}
    assert runner.lab_pacs_task_reloads(rotated) == [
        ["docker", "kill", "--signal=HUP", "lab-ghostunnel-storage"],
        ["docker", "kill", "--signal=HUP", "lab-ghostunnel-query"],
    ]
    # On ECS the definition changes (a new revision): the version is in the definition's sha label.
    before, after = by_name(labelled()), by_name(labelled({"edge-policy": "p2"}))
    assert before["ghostunnel-query"]["dockerLabels"] != after["ghostunnel-query"]["dockerLabels"]
    assert before["nginx"] == after["nginx"]


def test_a_new_peer_reruns_the_settings_container_but_restarts_neither_engine_nor_nginx():
    # A new DICOM peer changes the settings bundle (its digest) but not its digest without the peers
    # (library/pacs_settings_digest.py), which labels the engine and nginx.
    plan = runner.lab_pacs_task_docker(labelled(settings_static_digest="s" * 64), OPTS)
    running = [_running(s, running=not s["run_once"]) for s in plan]
    applied = {s["name"]: s["secret_versions"] for s in plan}
    new = runner.lab_pacs_task_docker(labelled(settings_digest="e" * 64, settings_static_digest="s" * 64), OPTS)
    # The settings volume no longer holds the bundle: the dependants are forced only when the settings
    # container's own definition did not change (a hand edit of the volume).
    force = ["settings", "pacs", "nginx"]
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(new, running, applied, force)}
    assert acts["settings"] == "create" and acts["pacs"] == "keep" and acts["nginx"] == "keep", acts
    hand_edit = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(plan, running, applied, force)}
    assert hand_edit["settings"] == hand_edit["pacs"] == hand_edit["nginx"] == "create", hand_edit
    # Any other change of the settings is a new static digest: the engine starts on it.
    other = runner.lab_pacs_task_docker(labelled(settings_digest="f" * 64, settings_static_digest="t" * 64), OPTS)
    acts = {s["name"]: s["action"] for s in runner.lab_pacs_task_actions(other, running, applied, force)}
    assert acts["pacs"] == "create" and acts["nginx"] == "create", acts

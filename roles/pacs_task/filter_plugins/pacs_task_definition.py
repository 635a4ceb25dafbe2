"""The PACS task's definition: the one place that lists its containers.

pacs_task_containers(spec) gives the ECS container definitions of the PACS
task, for both targets: ECS registers them on AWS, and the lab registers them
in the emulated ECS, reads them back and runs them with Docker (role
lab_pacs_task). `spec` is the role's inputs gathered by tasks/definition.yml:

  engine            dicoogle or orthanc
  images            {pacs, nginx, ghostunnel}: references by digest
  users             {pacs, nginx, ghostunnel}: "uid:gid" each image runs as
  ports             web, storage, query, admin_tls, storage_tls, query_tls, move_forward
  dimse_targets     {storage, query}: the engine's plain DIMSE ports (Orthanc has one)
  engine_paths      the engine's paths of the settings contract (vars/main.yml)
  settings_mount    where the settings access point is mounted
  settings_digest   SHA-256 of the settings bundle (the init container checks it)
  tls_dir           where the TLS wrapper writes the certificate, key and CA
  secret_arns       {pacs-edge, admin-web, settings}: Secrets Manager ARNs
  storage_node      {host, port, cn}: the C-MOVE destination behind the tunnel
  allowed_client_cns  identities the DIMSE edge lets in
  environment_extra   more environment for the PACS container (name: value)
  log_configuration   the containers' logConfiguration, or empty

The containers:
  settings            init (not essential): checks the settings bundle's digest
                      and writes it into the settings access point
  pacs                the engine, after settings succeeded
  nginx               TLS for the admin web, in front of the engine's web port
  ghostunnel-storage  mutual TLS edge of C-STORE
  ghostunnel-query    mutual TLS edge of C-FIND / C-MOVE
  ghostunnel-move     mutual TLS client carrying C-MOVE to the storage node
  indexer             the engines with an `indexer` in engine_paths (Dicoogle):
                      not essential; indexes the bulk ingests' requests that
                      DataSync lands, through the engine's web port on
                      127.0.0.1 (pacs-dicoogle-indexer, in the pacs image)

Every container runs as its image's non-root user on a read-only root file
system with every capability dropped; what a program writes goes to its own
scratch volume (task storage on Fargate, one anonymous volume in the lab).

pacs_task_volumes(access_points, file_system_id, scratch) gives the task's
volumes: one per EFS access point (an EFS volume when file_system_id is set,
TLS in transit and IAM authorization; the lab passes none and maps each to a
Docker volume), then the scratch volumes (host-less bind mounts).

pacs_task_labelled(containers, secret_arns, secret_versions) adds three docker
labels to each container: the secrets it reads (pacs.tls-secret), their
versions when the definition was made (pacs.tls-secret-version) and a SHA-256
of the whole container definition with those (pacs.definition-sha256).
community.aws.ecs_taskdefinition compares list options by their length only
but dockerLabels as a whole, so any change registers a new revision; a rotated
secret (a new version behind the same ARN) too, and the service rolls.
"""

from __future__ import annotations

import hashlib
import json

CONTAINER_NAMES = (
    "settings",
    "pacs",
    "nginx",
    "ghostunnel-storage",
    "ghostunnel-query",
    "ghostunnel-move",
    "indexer",
)
# The containers only some engines have.
_OPTIONAL = ("indexer",)

# Writes the bundle (base64 of a tar.gz, from Secrets Manager) into the
# settings access point once its SHA-256 is the one in the definition: the
# new top-level folders replace the old ones, what the bundle no longer has
# goes. $0 is the program name for messages.
_SETTINGS_SCRIPT = r"""set -eu
umask 022
dir="$PACS_SETTINGS_DIR"
sum=$(printf '%s' "$PACS_SETTINGS_BUNDLE" | base64 -d | sha256sum | cut -d' ' -f1)
if [ "$sum" != "$PACS_SETTINGS_DIGEST" ]; then
  echo "$0: the bundle's SHA-256 is $sum, the task definition expects $PACS_SETTINGS_DIGEST: nothing written" >&2
  exit 1
fi
stage="$dir/.incoming"
rm -rf "$stage"
mkdir -m 0755 "$stage"
printf '%s' "$PACS_SETTINGS_BUNDLE" | base64 -d | tar -xzf - -C "$stage" --no-same-owner
names=$(ls -A "$stage")
for old in $(ls -A "$dir"); do
  case " $(echo $names) .incoming .digest " in *" $old "*) ;; *) rm -rf "${dir:?}/$old" ;; esac
done
for name in $names; do
  rm -rf "${dir:?}/$name"
  mv "$stage/$name" "$dir/$name"
done
rmdir "$stage"
printf '%s\n' "$PACS_SETTINGS_DIGEST" > "$dir/.digest"
echo "$0: settings $PACS_SETTINGS_DIGEST written to $dir"
"""

# The TLS wrapper: the secrets ECS injects as environment variables become
# files only the container's user reads, the key leaves the environment, and
# the container's command runs ("$@"). With the command `true` it only writes
# the files (the lab's in-place rotation runs it so).
_TLS_SCRIPT = (
    'umask 077 && mkdir -p "{d}" && '
    'printf \'%s\\n\' "$TLS_CERTIFICATE" > "{d}/tls.crt.new" && mv "{d}/tls.crt.new" "{d}/tls.crt" && '
    'printf \'%s\\n\' "$TLS_PRIVATE_KEY" > "{d}/tls.key.new" && mv "{d}/tls.key.new" "{d}/tls.key" && '
    'printf \'%s\\n\' "$TLS_CA_CERTIFICATE" > "{d}/ca.crt.new" && mv "{d}/ca.crt.new" "{d}/ca.crt" && '
    'unset TLS_PRIVATE_KEY && exec "$@"'
)

_DROP_ALL = {"capabilities": {"drop": ["ALL"]}}


def _env(pairs):
    return [{"name": str(k), "value": str(v)} for k, v in sorted(pairs.items())]


def _tls_secrets(arn):
    return [
        {"name": "TLS_CA_CERTIFICATE", "valueFrom": f"{arn}:ca_certificate::"},
        {"name": "TLS_CERTIFICATE", "valueFrom": f"{arn}:certificate::"},
        {"name": "TLS_PRIVATE_KEY", "valueFrom": f"{arn}:private_key::"},
    ]


def _mount(volume, path, read_only):
    return {"sourceVolume": volume, "containerPath": path, "readOnly": bool(read_only)}


def _port(port):
    return {"containerPort": int(port), "hostPort": int(port), "protocol": "tcp"}


def _tcp_check(port):
    # bash's /dev/tcp: an open port is a healthy program (sh has no /dev/tcp).
    return {
        "command": ["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{int(port)}"],
        "interval": 10,
        "timeout": 5,
        "retries": 3,
        "startPeriod": 120,
    }


def pacs_task_tls_entrypoint(tls_dir):
    return ["/bin/sh", "-c", _TLS_SCRIPT.format(d=tls_dir), "pacs-tls"]


def pacs_task_containers(spec):
    engine = spec["engine"]
    paths = spec["engine_paths"][engine]
    ports = {k: int(v) for k, v in spec["ports"].items()}
    targets = {k: int(v) for k, v in spec["dimse_targets"].items()}
    images, users, arns = spec["images"], spec["users"], spec["secret_arns"]
    settings_mount = spec["settings_mount"]
    tls_dir = spec["tls_dir"]
    tls = [f"--cert={tls_dir}/tls.crt", f"--key={tls_dir}/tls.key", f"--cacert={tls_dir}/ca.crt"]
    allow = [f"--allow-cn={cn}" for cn in spec["allowed_client_cns"]]
    node = spec["storage_node"]
    after_settings = [{"containerName": "settings", "condition": "SUCCESS"}]
    settings_label = {"pacs.settings-sha256": spec["settings_digest"]}
    ghostunnel = dict(
        image=images["ghostunnel"],
        essential=True,
        user=users["ghostunnel"],
        readonlyRootFilesystem=True,
        linuxParameters=_DROP_ALL,
        entryPoint=pacs_task_tls_entrypoint(tls_dir),
        secrets=_tls_secrets(arns["pacs-edge"]),
    )

    def edge(name, listen, target):
        return dict(
            ghostunnel,
            name=name,
            command=["/usr/bin/ghostunnel", "server", f"--listen=0.0.0.0:{listen}", f"--target=127.0.0.1:{target}"]
            + tls
            + allow,
            portMappings=[_port(listen)],
            mountPoints=[_mount(f"{name}-tls", tls_dir, False)],
        )

    containers = [
        {
            "name": "settings",
            "image": images["pacs"],
            "essential": False,
            "user": users["pacs"],
            "readonlyRootFilesystem": True,
            "linuxParameters": _DROP_ALL,
            "entryPoint": ["/bin/sh", "-c", _SETTINGS_SCRIPT, "pacs-settings"],
            "environment": _env({"PACS_SETTINGS_DIGEST": spec["settings_digest"], "PACS_SETTINGS_DIR": settings_mount}),
            "secrets": [{"name": "PACS_SETTINGS_BUNDLE", "valueFrom": arns["settings"]}],
            "mountPoints": [_mount("confs", settings_mount, False)],
        },
        {
            "name": "pacs",
            "image": images["pacs"],
            "essential": True,
            "user": users["pacs"],
            "readonlyRootFilesystem": True,
            # An init reaps what the engine's start script leaves in the background.
            "linuxParameters": dict(_DROP_ALL, initProcessEnabled=True),
            "workingDirectory": paths["workdir"],
            "dependsOn": after_settings,
            "environment": _env(dict(paths.get("environment") or {}, **(spec.get("environment_extra") or {}))),
            "portMappings": [_port(p) for p in sorted({ports["web"], targets["storage"], targets["query"]})],
            "mountPoints": [
                _mount("confs", settings_mount, True),
                _mount("images", paths["images"], False),
                _mount("index", paths["index"], False),
                _mount("users", paths["workdir"], False),
                _mount("pacs-tmp", "/tmp", False),  # noqa: S108 - the container's own task storage
            ],
            "healthCheck": _tcp_check(ports["web"]),
            "dockerLabels": dict(settings_label, **{"pacs.engine": engine}),
        },
        {
            "name": "nginx",
            "image": images["nginx"],
            "essential": True,
            "user": users["nginx"],
            "readonlyRootFilesystem": True,
            "linuxParameters": _DROP_ALL,
            "dependsOn": after_settings,
            "entryPoint": pacs_task_tls_entrypoint(tls_dir),
            "command": ["nginx", "-c", f"{settings_mount}/nginx/nginx.conf", "-g", "daemon off;"],
            "secrets": _tls_secrets(arns["admin-web"]),
            "portMappings": [_port(ports["admin_tls"])],
            "mountPoints": [
                _mount("confs", settings_mount, True),
                _mount("nginx-run", spec["nginx_run_dir"], False),
                _mount("nginx-tls", tls_dir, False),
            ],
            "dockerLabels": settings_label,
        },
        edge("ghostunnel-storage", ports["storage_tls"], targets["storage"]),
        edge("ghostunnel-query", ports["query_tls"], targets["query"]),
        dict(
            ghostunnel,
            name="ghostunnel-move",
            command=[
                "/usr/bin/ghostunnel",
                "client",
                f"--listen=127.0.0.1:{ports['move_forward']}",
                f"--target={node['host']}:{int(node['port'])}",
                f"--verify-cn={node['cn']}",
            ]
            + tls,
            mountPoints=[_mount("ghostunnel-move-tls", tls_dir, False)],
        ),
    ]
    if paths.get("command"):
        containers[1]["command"] = list(paths["command"])
    indexer = paths.get("indexer")
    if indexer:
        containers.append(
            {
                "name": "indexer",
                "image": images["pacs"],
                # Its end must not end the task: ECS leaves it stopped, and
                # the next ingest's check (C-FIND) says the study is missing.
                "essential": False,
                "user": users["pacs"],
                "readonlyRootFilesystem": True,
                "linuxParameters": _DROP_ALL,
                "dependsOn": [{"containerName": "pacs", "condition": "START"}],
                "entryPoint": [indexer["entrypoint"]],
                "environment": _env(
                    {
                        "PACS_INDEXER_LANDING": indexer["landing"],
                        "PACS_INDEXER_INBOX": indexer["inbox"],
                        "PACS_INDEXER_RECORDS": indexer["records"],
                        "PACS_DICOOGLE_WEB_PORT": str(ports["web"]),
                    }
                ),
                "mountPoints": [
                    # Read and write: it moves each request out of the landing folder.
                    _mount("images", paths["images"], False),
                    _mount("users", paths["workdir"], False),
                    _mount("indexer-tmp", "/tmp", False),  # noqa: S108 - the container's own task storage
                ],
            }
        )
    if spec.get("log_configuration"):
        for container in containers:
            container["logConfiguration"] = spec["log_configuration"]
    names = tuple(c["name"] for c in containers)
    assert names == tuple(n for n in CONTAINER_NAMES if n not in _OPTIONAL or n in names)
    return containers


def pacs_task_scratch_volumes(containers):
    """Names of the volumes that no access point backs, in first-use order."""
    return [
        m["sourceVolume"]
        for c in containers
        for m in c.get("mountPoints", [])
        if m["sourceVolume"] not in ("confs", "images", "index", "users")
    ]


def pacs_task_volumes(access_points, file_system_id, scratch):
    volumes = []
    for name in sorted(access_points):
        volume = {"name": name}
        if file_system_id:
            # rootDirectory "/" written out: with an access point ECS returns
            # it so, and the module compares a volume as a whole.
            volume["efsVolumeConfiguration"] = {
                "fileSystemId": file_system_id,
                "rootDirectory": "/",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": access_points[name], "iam": "ENABLED"},
            }
        volumes.append(volume)
    return volumes + [{"name": name} for name in scratch]


def _secret_arn(value_from):
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json key>:<stage>:<version>]
    return ":".join(value_from.split(":")[:7])


def pacs_task_labelled(containers, secret_arns, secret_versions):
    names_by_arn = {arn: name for name, arn in (secret_arns or {}).items() if arn}
    labelled = []
    for container in containers:
        container = dict(container)
        labels = dict(container.get("dockerLabels") or {})
        used = sorted(
            {names_by_arn.get(_secret_arn(s["valueFrom"]), "") for s in container.get("secrets") or []} - {""}
        )
        if used:
            labels["pacs.tls-secret"] = ",".join(used)
            labels["pacs.tls-secret-version"] = ",".join((secret_versions or {}).get(n) or "unknown" for n in used)
        labels.pop("pacs.definition-sha256", None)
        container["dockerLabels"] = labels
        digest = hashlib.sha256(json.dumps(container, sort_keys=True).encode()).hexdigest()
        container["dockerLabels"] = dict(labels, **{"pacs.definition-sha256": digest})
        labelled.append(container)
    return labelled


class FilterModule:
    def filters(self):
        return {
            "pacs_task_containers": pacs_task_containers,
            "pacs_task_scratch_volumes": pacs_task_scratch_volumes,
            "pacs_task_volumes": pacs_task_volumes,
            "pacs_task_labelled": pacs_task_labelled,
            "pacs_task_tls_entrypoint": pacs_task_tls_entrypoint,
        }

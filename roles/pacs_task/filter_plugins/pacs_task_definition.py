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
  settings_static_digest  the settings' digest without the DICOM peer parts
                    (library/pacs_settings_digest.py): the label of the
                    containers that read the settings (optional)
  tls_dir           where the TLS wrapper writes the certificate, key and CA
  secret_arns       {pacs-edge, admin-web, settings, edge-policy}: Secrets
                    Manager ARNs (edge-policy: JSON key `policy`, the edges'
                    OPA policy, filter_plugins/pacs_edge_policy.py)
  move_tunnels      [{container, listen, host, port, cn}]: one TLS client per
                    C-MOVE destination, listening on 127.0.0.1:<listen> inside
                    the task (other keys, such as the peer's name, are ignored)
  environment_extra   more environment for the PACS container (name: value)
  log_configuration   the containers' logConfiguration, or empty

The containers:
  settings            init (not essential): checks the settings bundle's digest
                      and writes it into the settings access point
  pacs                the engine, after settings succeeded
  nginx               TLS for the admin web, in front of the engine's web port
  ghostunnel-storage  mutual TLS edge of C-STORE
  ghostunnel-query    mutual TLS edge of C-FIND / C-MOVE
                      (both: the identities the edge policy lets in on that
                      port, --allow-policy/--allow-query)
  ghostunnel-move     mutual TLS client carrying C-MOVE to the default
                      destination (the storage node); each other destination
                      gets its own ghostunnel-move-<peer> right after it
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
labels to each container: the secrets it reads (pacs.tls-secret: the edges
read the certificate and the edge policy), their
versions when the definition was made (pacs.tls-secret-version) and a SHA-256
of the whole container definition with those (pacs.definition-sha256).
community.aws.ecs_taskdefinition compares list options by their length only
but dockerLabels as a whole, so any change registers a new revision; a rotated
secret (a new version behind the same ARN) too, and the service rolls. The
lab keeps the container and writes the new material in place (a policy change
is applied as a certificate rotation is: the TLS wrapper again, then SIGHUP).

pacs_task_move_tunnel_problems(tunnels, ports, engine_paths) says why the
move tunnels cannot be run (validate_inputs.yml asserts on it before any
change; pacs_task_containers refuses them too).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

# The project's module_utils/pacs_checks.py (the port check the modules and the other filters share), by its
# path: a filter cannot import it as ansible.module_utils.pacs_checks (see that file).
_spec = importlib.util.spec_from_file_location(
    "pacs_checks", Path(__file__).resolve().parent / "../../../module_utils/pacs_checks.py"
)
pacs_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pacs_checks)
port_number = pacs_checks.port_number

CONTAINER_NAMES = (
    "settings",
    "pacs",
    "nginx",
    "ghostunnel-storage",
    "ghostunnel-query",
    "ghostunnel-move",
    "indexer",
)
# The containers only some tasks have: the indexer (the engines with one), the
# default destination's tunnel (a deployment whose destinations all have
# their own forward port has none).
_OPTIONAL = ("indexer", "ghostunnel-move")
# The default destination's tunnel keeps its historic name; each other one is
# ghostunnel-move-<peer> (a DNS label), placed right after it in name order.
_MOVE = "ghostunnel-move"
_MOVE_NAME = re.compile(r"^ghostunnel-move(-[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$")
_TUNNEL_KEYS = ("container", "listen", "host", "port", "cn")
# ECS runs at most 10 containers per task definition (a fixed quota).
_ECS_MAX_CONTAINERS = 10

# The edges' OPA policy: the file the TLS wrapper writes, and the query each
# edge asks. The same strings as QUERIES in filter_plugins/pacs_edge_policy.py,
# which renders the policy (a role's filter cannot import the project's;
# tests/unit/test_pacs_edge_policy.py checks that they agree).
EDGE_POLICY_FILE = "edge.rego"
EDGE_QUERIES = {"storage": "data.pacs.edge.storage", "query": "data.pacs.edge.query"}

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
# the files (the lab's in-place rotation runs it so, with every TLS_*
# variable of the container). The edges also get TLS_EDGE_POLICY, written as
# edge.rego, byte for byte (the rendered text ends with its newline);
# containers without it (nginx, the move tunnels) get no such file. Set but
# empty is refused: an empty file would make ghostunnel exit at start, or
# keep the old policy on SIGHUP with only a log line to tell.
_TLS_SCRIPT = (
    'umask 077 && mkdir -p "{d}" && '
    'printf \'%s\\n\' "$TLS_CERTIFICATE" > "{d}/tls.crt.new" && mv "{d}/tls.crt.new" "{d}/tls.crt" && '
    'printf \'%s\\n\' "$TLS_PRIVATE_KEY" > "{d}/tls.key.new" && mv "{d}/tls.key.new" "{d}/tls.key" && '
    'printf \'%s\\n\' "$TLS_CA_CERTIFICATE" > "{d}/ca.crt.new" && mv "{d}/ca.crt.new" "{d}/ca.crt" && '
    'if [ -n "${{TLS_EDGE_POLICY+set}}" ]; then '
    '[ -n "$TLS_EDGE_POLICY" ] || {{ echo "$0: TLS_EDGE_POLICY is empty: no policy written" >&2; exit 1; }}; '
    'printf \'%s\' "$TLS_EDGE_POLICY" > "{d}/{p}.new" && mv "{d}/{p}.new" "{d}/{p}"; '
    "fi && "
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
    return ["/bin/sh", "-c", _TLS_SCRIPT.format(d=tls_dir, p=EDGE_POLICY_FILE), "pacs-tls"]


def pacs_task_move_tunnel_problems(tunnels, ports, engine_paths=None):
    """Why `tunnels` (pacs_task_move_tunnels) cannot be run beside `ports`
    (pacs_task_ports): a list of messages, empty when fine. A tunnel may
    listen on ports.move_forward (the default destination's historic port),
    never on the task's other ports: the containers share one network
    namespace. With the engine's paths (pacs_task_engine_paths[engine]),
    also whether the task has room for them (ECS's quota of containers)."""
    if isinstance(tunnels, str | bytes) or not isinstance(tunnels, Sequence):
        return [f"pacs_task_move_tunnels must be a list of {{{', '.join(_TUNNEL_KEYS)}}}"]
    if not tunnels:
        return ["pacs_task_move_tunnels may not be empty (C-MOVE needs a destination behind a tunnel)"]
    taken = {port_number(v): k for k, v in (ports or {}).items() if k != "move_forward" and port_number(v) is not None}
    problems, names, listens = [], {}, {}
    for index, tunnel in enumerate(tunnels):
        if not isinstance(tunnel, Mapping):
            problems.append(f"pacs_task_move_tunnels[{index}] must be a mapping of {', '.join(_TUNNEL_KEYS)}")
            continue
        label = f"pacs_task_move_tunnels[{index}]"
        missing = [k for k in _TUNNEL_KEYS if tunnel.get(k) in (None, "")]
        if missing:
            problems.append(f"{label} needs {', '.join(missing)}")
            continue
        name = str(tunnel["container"])
        if not _MOVE_NAME.match(name):
            problems.append(f"{label}.container {name!r} must be {_MOVE} or {_MOVE}-<DNS label>")
        elif name in names:
            problems.append(f"{label}.container {name!r} repeats pacs_task_move_tunnels[{names[name]}]'s")
        names.setdefault(name, index)
        listen = port_number(tunnel["listen"])
        if listen is None:
            problems.append(f"{label}.listen must be a port between 1 and 65535 (got {tunnel['listen']!r})")
        elif listen in taken:
            problems.append(f"{label}.listen {listen} is the task's {taken[listen]} port (one network namespace)")
        elif listen in listens:
            problems.append(f"{label}.listen {listen} repeats pacs_task_move_tunnels[{listens[listen]}]'s")
        if listen is not None:
            listens.setdefault(listen, index)
        if port_number(tunnel["port"]) is None:
            problems.append(f"{label}.port must be a port between 1 and 65535 (got {tunnel['port']!r})")
        if any(c.isspace() or c == ":" for c in str(tunnel["host"])):
            problems.append(f"{label}.host {str(tunnel['host'])!r} must be a DNS name or an IPv4 address")
    if engine_paths is not None:
        others = len([n for n in CONTAINER_NAMES if n not in _OPTIONAL]) + (1 if engine_paths.get("indexer") else 0)
        room = _ECS_MAX_CONTAINERS - others
        if len(tunnels) > room:
            problems.append(
                f"pacs_task_move_tunnels has {len(tunnels)} tunnels; the task has room for {room} beside its "
                f"{others} other containers (ECS runs at most {_ECS_MAX_CONTAINERS} per task)"
            )
    return problems


def _move_tunnels(tunnels, ports, engine_paths):
    """The tunnels in container order: the default destination's first,
    then the others by name (the same containers whatever the list's order)."""
    problems = pacs_task_move_tunnel_problems(tunnels, ports, engine_paths)
    if problems:
        raise ValueError("; ".join(problems))
    return sorted(tunnels, key=lambda t: (str(t["container"]) != _MOVE, str(t["container"])))


def pacs_task_containers(spec):
    engine = spec["engine"]
    paths = spec["engine_paths"][engine]
    ports = {k: int(v) for k, v in spec["ports"].items()}
    targets = {k: int(v) for k, v in spec["dimse_targets"].items()}
    images, users, arns = spec["images"], spec["users"], spec["secret_arns"]
    settings_mount = spec["settings_mount"]
    tls_dir = spec["tls_dir"]
    tls = [f"--cert={tls_dir}/tls.crt", f"--key={tls_dir}/tls.key", f"--cacert={tls_dir}/ca.crt"]
    tunnels = _move_tunnels(spec["move_tunnels"], ports, paths)
    if "edge-policy" not in arns:
        raise ValueError("secret_arns needs edge-policy: the secret of the edges' OPA policy (tasks/edge_policy.yml)")
    # The edge policy beside the certificate: a new version of either is a
    # rotation of the edge (the same TLS wrapper writes both, then SIGHUP).
    edge_secrets = sorted(
        _tls_secrets(arns["pacs-edge"]) + [{"name": "TLS_EDGE_POLICY", "valueFrom": f"{arns['edge-policy']}:policy::"}],
        key=lambda s: s["name"],
    )
    after_settings = [{"containerName": "settings", "condition": "SUCCESS"}]
    # The engine and nginx start again when their settings change, but not
    # for a new DICOM peer: the running engine is told through its API (role
    # pacs_peers), so their label is the digest without the peer parts.
    settings_label = {"pacs.settings-sha256": spec.get("settings_static_digest") or spec["settings_digest"]}
    ghostunnel = dict(
        image=images["ghostunnel"],
        essential=True,
        user=users["ghostunnel"],
        readonlyRootFilesystem=True,
        linuxParameters=_DROP_ALL,
        entryPoint=pacs_task_tls_entrypoint(tls_dir),
        secrets=_tls_secrets(arns["pacs-edge"]),
    )

    def edge(name, listen, target, query):
        # OPA excludes ghostunnel's other --allow-* flags: the policy says it all.
        return dict(
            ghostunnel,
            name=name,
            command=["/usr/bin/ghostunnel", "server", f"--listen=0.0.0.0:{listen}", f"--target=127.0.0.1:{target}"]
            + tls
            + [f"--allow-policy={tls_dir}/{EDGE_POLICY_FILE}", f"--allow-query={query}"],
            secrets=edge_secrets,
            portMappings=[_port(listen)],
            mountPoints=[_mount(f"{name}-tls", tls_dir, False)],
        )

    def move(tunnel):
        name = str(tunnel["container"])
        return dict(
            ghostunnel,
            name=name,
            command=[
                "/usr/bin/ghostunnel",
                "client",
                f"--listen=127.0.0.1:{int(tunnel['listen'])}",
                f"--target={tunnel['host']}:{int(tunnel['port'])}",
                f"--verify-cn={tunnel['cn']}",
            ]
            + tls,
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
        edge("ghostunnel-storage", ports["storage_tls"], targets["storage"], EDGE_QUERIES["storage"]),
        edge("ghostunnel-query", ports["query_tls"], targets["query"], EDGE_QUERIES["query"]),
    ] + [move(t) for t in tunnels]
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
    fixed = [n for n in CONTAINER_NAMES if n not in _OPTIONAL or n in names]
    extra = sorted(n for n in names if n.startswith(_MOVE + "-"))
    at = fixed.index(_MOVE) + 1 if _MOVE in fixed else fixed.index("ghostunnel-query") + 1
    assert names == tuple(fixed[:at] + extra + fixed[at:]), names
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
            "pacs_task_move_tunnel_problems": pacs_task_move_tunnel_problems,
        }

"""Run an ECS task definition with Docker, as Fargate would (the lab's runner).

lab_pacs_task_secret_arns(containers) lists the Secrets Manager ARNs the
containers' secrets name (valueFrom without its JSON key, stage and version).

lab_pacs_task_docker(containers, opts) turns the container definitions read
back from ECS (DescribeTaskDefinition) into community.docker.docker_container
arguments, in start order (a container after those it dependsOn):

  opts.prefix     the task's name: container <prefix>-<name>, volume <prefix>-<volume>
  opts.holder     the container that owns the task's network namespace
  opts.task_label the label that names the task on each of its containers
                  (its value is opts.prefix; lab_down and collect list the
                  containers by it)
  opts.access_points  volumes backed by an access point (Docker volumes <prefix>-<name>)
  opts.volume_names   {access point: Docker volume} where it is not <prefix>-<name>
                  (a restore's fresh volumes); each container names its
                  volumes in the label io.pacs.lab.volumes, so that one moved
                  onto others differs in what docker_container compares
  opts.secrets    {secret ARN: secret string}: valueFrom resolved as ECS does
                  (the whole string, or the value of its JSON key); one that
                  names a version stage or id is refused (the lab reads the
                  current version; the definition names none)

What ECS gives a container, the lab gives it: image, entryPoint, command,
user, workingDirectory, environment and secrets (both as environment
variables), mountPoints (an access point's volume, or for a host-less volume
an anonymous volume of the container: Fargate's task storage, which a new
task starts empty), readonlyRootFilesystem, dropped capabilities,
initProcessEnabled, healthCheck, dockerLabels. Port mappings need nothing:
the containers share the holder's network namespace (awsvpc). A container
that others wait for (dependsOn SUCCESS or COMPLETE) runs once to its end
before them (restart "no", not detached); another one that is not essential
runs beside the others and is not restarted (ECS leaves it stopped); the
essential ones are restarted by Docker as the service would replace the task.

Each result carries `sha` (the container's definition without its secret
versions) and `secret_versions`: docker_container compares only the image,
the network mode and the labels, where the sha is, so a container is
recreated when its definition changed and kept when only a secret's version
did; the role then writes the new material into the running container and
reloads it (an in-place rotation: ECS itself would start a new task).
"""

from __future__ import annotations

import hashlib
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.dict_transformations import snake_dict_to_camel_dict

_VOLATILE_LABELS = ("pacs.tls-secret-version", "pacs.definition-sha256")


def _arn(value_from):
    parts = value_from.split(":")
    if len(parts) < 7 or parts[2] != "secretsmanager":
        raise AnsibleFilterError(f"valueFrom {value_from!r} is not a Secrets Manager ARN")
    if any(parts[8:10]):
        raise AnsibleFilterError(f"valueFrom {value_from!r} names a version: the lab reads the current one only")
    return ":".join(parts[:7]), (parts[7] if len(parts) > 7 else "")


def lab_pacs_task_secret_arns(containers):
    return sorted({_arn(s["valueFrom"])[0] for c in containers for s in c.get("secrets") or []})


def _resolve(value_from, secrets):
    arn, key = _arn(value_from)
    if arn not in secrets:
        raise AnsibleFilterError(f"secret {arn} (valueFrom {value_from!r}) was not read")
    value = secrets[arn]
    if not key:
        return value
    try:
        return str(json.loads(value)[key])
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"secret {arn} has no JSON key {key!r}") from exc


def _order(containers):
    by_name = {c["name"]: c for c in containers}
    done, order = set(), []

    def visit(name, path):
        if name in done:
            return
        if name in path:
            raise AnsibleFilterError(f"dependsOn cycle: {' -> '.join(path + [name])}")
        if name not in by_name:
            raise AnsibleFilterError(f"dependsOn names {name!r}, which is not a container of the task")
        for dep in by_name[name].get("dependsOn") or []:
            visit(dep["containerName"], path + [name])
        done.add(name)
        order.append(by_name[name])

    for container in containers:
        visit(container["name"], [])
    return order


def _seconds(value):
    return f"{int(value)}s"


def lab_pacs_task_camel(described):
    """community.aws.ecs_taskdefinition_info gives DescribeTaskDefinition's
    keys in snake case; back to the API's names (label keys, environment
    names and values are values, and stay as they are)."""
    return snake_dict_to_camel_dict(json.loads(json.dumps(described)))


def lab_pacs_task_docker(containers, opts):
    prefix = opts["prefix"]
    awaited = {
        d["containerName"]
        for c in containers
        for d in c.get("dependsOn") or []
        if d.get("condition") in ("SUCCESS", "COMPLETE")
    }
    access_points = set(opts["access_points"])
    # Docker volume of each access point: <prefix>-<name>, or the one named
    # (a restore's fresh volumes, roles/pacs_backup).
    volume_names = opts.get("volume_names") or {}
    secrets = opts.get("secrets") or {}
    scratch_users = {}
    plan = []
    for c in _order(containers):
        labels = {k: v for k, v in (c.get("dockerLabels") or {}).items() if k not in _VOLATILE_LABELS}
        stable = dict(c, dockerLabels=labels)
        sha = hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()
        volumes = []
        for m in c.get("mountPoints") or []:
            source, path = m["sourceVolume"], m["containerPath"]
            if source in access_points:
                volume = volume_names.get(source, f"{prefix}-{source}")
                volumes.append(f"{volume}:{path}" + (":ro" if m.get("readOnly") else ""))
            else:
                if scratch_users.setdefault(source, c["name"]) != c["name"]:
                    raise AnsibleFilterError(
                        f"volume {source!r} is task storage shared by {scratch_users[source]!r} and {c['name']!r}: "
                        "the lab gives each container its own"
                    )
                volumes.append(path)
        shared = [v for v in volumes if ":" in v]
        env = {e["name"]: str(e["value"]) for e in c.get("environment") or []}
        env.update({s["name"]: _resolve(s["valueFrom"], secrets) for s in c.get("secrets") or []})
        linux = c.get("linuxParameters") or {}
        essential = c.get("essential", True)
        run_once = not essential and c["name"] in awaited
        params = {
            "name": f"{prefix}-{c['name']}",
            "image": c["image"],
            "user": c.get("user"),
            "working_dir": c.get("workingDirectory"),
            "entrypoint": c.get("entryPoint"),
            "command": c.get("command"),
            "env": env,
            "volumes": volumes,
            "read_only": bool(c.get("readonlyRootFilesystem", False)),
            "cap_drop": (linux.get("capabilities") or {}).get("drop"),
            "init": bool(linux.get("initProcessEnabled", False)),
            "labels": dict(
                labels,
                **{"io.pacs.lab.container-sha256": sha, opts["task_label"]: prefix, "io.pacs.ecs.container": c["name"]},
                # docker_container compares labels, not volumes: a container
                # moved onto other volumes must differ in a label.
                **({"io.pacs.lab.volumes": " ".join(sorted(shared))} if shared else {}),
            ),
            "network_mode": f"container:{opts['holder']}",
            "restart_policy": "unless-stopped" if essential else "no",
            "detach": not run_once,
        }
        check = c.get("healthCheck")
        if check:
            params["healthcheck"] = {
                "test": check["command"],
                "interval": _seconds(check.get("interval", 30)),
                "timeout": _seconds(check.get("timeout", 5)),
                "retries": int(check.get("retries", 3)),
                "start_period": _seconds(check.get("startPeriod", 0)),
            }
        plan.append(
            {
                "name": c["name"],
                "essential": bool(essential),
                "run_once": run_once,
                "sha": sha,
                "secret_versions": (c.get("dockerLabels") or {}).get("pacs.tls-secret-version", ""),
                "params": {k: v for k, v in params.items() if v is not None},
            }
        )
    return plan


def _option(command, flag):
    """The value after `flag` in an argument vector (None when absent)."""
    if flag in command[:-1]:
        return command[command.index(flag) + 1]
    return None


def lab_pacs_task_reloads(steps):
    """The commands that make each rotated container re-read its TLS files,
    chosen by the program its command runs: ghostunnel reloads on SIGHUP;
    nginx checks its configuration (the one its command names with -c), then
    reloads. Any other program is refused: nothing would make it re-read."""
    commands = []
    for step in steps:
        name, command = step["params"]["name"], step["params"].get("command") or []
        program = command[0].rsplit("/", 1)[-1] if command else ""
        if program == "ghostunnel":
            commands.append(["docker", "kill", "--signal=HUP", name])
        elif program == "nginx":
            conf = _option(command, "-c")
            conf_args = ["-c", conf] if conf else []
            commands.append(["docker", "exec", name, command[0], "-t", "-q", *conf_args])
            commands.append(["docker", "exec", name, command[0], "-s", "reload", *conf_args])
        else:
            raise AnsibleFilterError(
                f"container {step['name']!r} got new TLS material, but its program {program!r} has no known reload"
            )
    return commands


def lab_pacs_task_actions(plan, running, applied, force=()):
    """What to do with each planned container: `create` it (missing, its
    definition or its volumes changed, or a run-once container that did not succeed),
    `keep` it, or `rotate` it (kept, but the secret versions it was given,
    from `applied`, are not the definition's). `running` is
    docker_container_info's results, one per planned container. The names
    in `force` (the settings container first, then those that wait for it)
    are created again whatever runs (a new task would: the settings volume
    no longer holds the bundle) - unless the settings container's own
    definition changed: then the volume differs because the bundle is new,
    the settings container writes it, and the others follow their own
    definitions (a new caller or destination in the engine's settings does
    not restart the engine: the label it carries is the settings' static
    digest, and the running engine is told through its API)."""
    by_name = {}
    for result in running:
        container = result.get("container") or {}
        by_name[result["item"]] = container
    if force:
        first = next((s for s in plan if s["name"] == force[0]), None)
        labels = ((by_name.get(force[0]) or {}).get("Config") or {}).get("Labels") or {}
        if first is not None and labels and labels.get("io.pacs.lab.container-sha256") != first["sha"]:
            force = ()
    acted = []
    for step in plan:
        container = by_name.get(step["name"]) or {}
        labels = (container.get("Config") or {}).get("Labels") or {}
        state = container.get("State") or {}
        # Its definition, or the volumes it mounts (a restore moves the task
        # onto fresh ones; the definition names access points, not volumes).
        changed = labels.get("io.pacs.lab.container-sha256") != step["sha"] or labels.get(
            "io.pacs.lab.volumes"
        ) != step["params"]["labels"].get("io.pacs.lab.volumes")
        # A run-once container that did not end well, or a long-running one that is down.
        unfinished = state.get("Running") or state.get("ExitCode") != 0
        down = not state.get("Running")
        if step["name"] in force:
            step = dict(step, params=dict(step["params"], recreate=True))
            action = "create"
        elif changed or (unfinished if step["run_once"] else down):
            action = "create"
        elif step["secret_versions"] and (applied or {}).get(step["name"]) != step["secret_versions"]:
            action = "rotate"
        else:
            action = "keep"
        acted.append(dict(step, action=action))
    return acted


class FilterModule:
    def filters(self):
        return {
            "lab_pacs_task_actions": lab_pacs_task_actions,
            "lab_pacs_task_reloads": lab_pacs_task_reloads,
            "lab_pacs_task_camel": lab_pacs_task_camel,
            "lab_pacs_task_docker": lab_pacs_task_docker,
            "lab_pacs_task_secret_arns": lab_pacs_task_secret_arns,
        }

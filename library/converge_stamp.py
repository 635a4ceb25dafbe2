#!/usr/bin/python
# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: converge_stamp
short_description: Tell whether a role's last converge still holds, so that a rerun can skip it
description:
  - A role records a stamp when it has converged (C(state=record)), a digest of everything it was given
    (computed on the controller, see the C(converge_inputs) lookup) and of the live state it manages on this
    host (the content, mode and owner of the files under O(watch), and the output of each command in
    O(probes)).
  - On the next run (C(state=check)) the role compares. When the inputs are the same, the live state is the
    same, every probe passes and the stamp has not expired, the role has nothing to do and can end at once;
    otherwise RV(reason) says what differs and the role converges in full.
  - A hand-edited file, a stopped service or a removed container is a different live state, which the full
    converge puts back. What the role manages but does not list in O(watch) or O(probes) is not seen.
  - C(state=drift) is for reports (C(playbooks/collect.yml)): it reads the live state the stamp lists (the
    O(watch) paths and O(probes) recorded with it) and names every part that differs from the last converge,
    without needing the role's inputs. The controller's O(live_extra) is not part of it.
  - Never reports a change (the stamp is bookkeeping, not configuration). Supports check mode; in check
    mode C(state=record) writes nothing.
version_added: "1.0.0"
options:
  path:
    description: The stamp file (JSON, mode 0600; its folder is created with mode 0700).
    type: path
    required: true
  state:
    description: C(check) compares with the stamp, C(record) writes it, C(drift) compares the live state only.
    type: str
    choices: [check, record, drift]
    default: check
  inputs_digest:
    description: Digest of the role's inputs, computed on the controller. Required unless O(state=drift).
    type: str
  watch:
    description:
      - Files and folders (walked recursively, symbolic links not followed) whose content, mode, owner and
        group are the live state. A missing path is a state of its own.
    type: list
    elements: path
    default: []
  probes:
    description:
      - Commands (argument vectors, no shell) whose output is part of the live state. Each must exit 0;
        one that does not makes the stamp not match.
    type: list
    elements: list
    default: []
  live_extra:
    description: A digest of live state read elsewhere (by the controller), compared like the rest.
    type: str
    default: ""
  valid_until:
    description:
      - With C(state=record), an ISO 8601 date and time after which the stamp no longer matches (for example
        when a certificate enters its renewal window). Without a timezone, UTC.
    type: str
  outputs:
    description:
      - With C(state=record), values kept with the stamp and returned by a matching check, for what a
        skipped role would have set for the roles after it. Never secrets.
    type: dict
    default: {}
author:
  - PACS platform team
"""

EXAMPLES = r"""
- name: Compare with the last converge
  converge_stamp:
    path: /var/lib/pacs-converge/dicom_storage_node.json
    inputs_digest: "{{ lookup('converge_inputs', role_path) }}"
    watch: [/etc/ghostunnel, /etc/systemd/system/storescp.service]
    probes:
      - [systemctl, is-active, storescp.service]
  register: stamp

- name: End the role, converged already
  ansible.builtin.meta: end_role
  when: stamp.match
"""

RETURN = r"""
match:
  description: With C(state=check), whether the last converge still holds.
  returned: always
  type: bool
reason:
  description: What differs (or, on a match, that nothing does).
  returned: always
  type: str
  sample: "live state changed: /etc/ghostunnel/storage.flags"
live_digest:
  description: Digest of the live state read now.
  returned: always
  type: str
drifted:
  description: With C(state=drift), the parts of the live state that differ from the last converge.
  returned: when state is drift
  type: list
  elements: str
  sample: ["path /etc/dicom-storage", "probe systemctl is-active storescp.service"]
recorded_at:
  description: With C(state=drift), when the stamp was recorded (null without a stamp).
  returned: when state is drift
  type: str
recorded:
  description:
    - With C(state=record), whether the stamp was written. A live state that fails a probe is not recorded (a
      warning says why) and any older stamp is removed, so that the next run converges in full.
  returned: when state is record
  type: bool
outputs:
  description: The outputs recorded with the stamp, on a match; empty otherwise.
  returned: always
  type: dict
"""

import hashlib
import json
import os
import stat
import tempfile
from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule

STAMP_FORMAT = 1


def _file_lines(root):
    """One line per entry under root: relative path, type, mode, owner, group and content digest."""
    if not os.path.lexists(root):
        yield "absent"
        return
    entries = [root]
    if os.path.isdir(root) and not os.path.islink(root):
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            entries.extend(os.path.join(folder, name) for name in sorted(dirs + files))
    for entry in entries:
        info = os.lstat(entry)
        relative = os.path.relpath(entry, root)
        head = f"{relative} {stat.S_IFMT(info.st_mode):o} {stat.S_IMODE(info.st_mode):04o} {info.st_uid} {info.st_gid}"
        if stat.S_ISLNK(info.st_mode):
            yield f"{head} -> {os.readlink(entry)}"
        elif stat.S_ISREG(info.st_mode):
            digest = hashlib.sha256()
            with open(entry, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            yield f"{head} {digest.hexdigest()}"
        else:
            yield head


def _digest(lines):
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogateescape"))
        digest.update(b"\n")
    return digest.hexdigest()


def read_live_state(module, watch, probes, live_extra):
    """The live state as {part: digest}, and the first failed probe (or None)."""
    parts = {f"path {path}": _digest(_file_lines(path)) for path in watch}
    failed = None
    for argv in probes:
        argv = [str(arg) for arg in argv]
        try:
            rc, out, err = module.run_command(argv, handle_exceptions=False)
        except OSError as error:
            # A command that cannot even start (not installed, not built yet) is a failed probe:
            # the role converges and makes it.
            rc, out, err = 127, "", f"cannot run: {error.strerror or error}"
        name = "probe " + " ".join(argv)
        parts[name] = _digest([str(rc), out])
        if rc != 0 and failed is None:
            failed = f"{name} exited {rc}: {(err or out).strip()[:300]}"
    if live_extra:
        parts["live_extra"] = live_extra
    return parts, failed


def parse_time(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def compare(stamp, inputs_digest, parts, failed, now):
    """(match, reason) for a stamp read from disk (or None) against what was found now."""
    if failed:
        return False, f"a probe failed: {failed}"
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
        return False, "no stamp of a previous converge"
    if "watch" not in stamp or "probes" not in stamp:
        return False, "the stamp does not list its live state (recorded by an older version)"
    if stamp.get("inputs_digest") != inputs_digest:
        return False, "inputs changed (arguments, role files or what they read) since the last converge"
    recorded = stamp.get("live", {})
    for name in sorted(set(recorded) | set(parts)):
        if recorded.get(name) != parts.get(name):
            return False, f"live state changed since the last converge: {name}"
    if stamp.get("valid_until") and now >= parse_time(stamp["valid_until"]):
        return False, f"the stamp expired at {stamp['valid_until']} (something falls due)"
    return True, "inputs and live state as at the last converge"


def drift(module, stamp):
    """(match, reason, drifted parts) of the live state the stamp lists against the stamp."""
    if not isinstance(stamp, dict) or stamp.get("format") != STAMP_FORMAT:
        return False, "no stamp of a previous converge", ["stamp"]
    if "watch" not in stamp or "probes" not in stamp:
        return False, "the stamp does not list its live state (recorded by an older version); converge once", ["stamp"]
    parts, _failed = read_live_state(module, stamp["watch"], stamp["probes"], "")
    recorded = {name: value for name, value in stamp.get("live", {}).items() if name != "live_extra"}
    drifted = [name for name in sorted(set(recorded) | set(parts)) if recorded.get(name) != parts.get(name)]
    if drifted:
        return False, "live state changed since the last converge: " + "; ".join(drifted), drifted
    return True, "live state as at the last converge", []


def read_stamp(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_stamp(path, content):
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".stamp-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out, sort_keys=True, indent=1)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["check", "record", "drift"], default="check"),
            inputs_digest=dict(type="str"),
            watch=dict(type="list", elements="path", default=[]),
            probes=dict(type="list", elements="list", default=[]),
            live_extra=dict(type="str", default=""),
            valid_until=dict(type="str"),
            outputs=dict(type="dict", default={}),
        ),
        required_if=[("state", "check", ["inputs_digest"]), ("state", "record", ["inputs_digest"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "drift":
        stamp = read_stamp(params["path"])
        match, reason, drifted = drift(module, stamp)
        recorded_at = stamp.get("recorded_at") if isinstance(stamp, dict) else None
        module.exit_json(changed=False, match=match, reason=reason, drifted=drifted, recorded_at=recorded_at)
    valid_until = params["valid_until"]
    if valid_until:
        try:
            parse_time(valid_until)
        except ValueError:
            module.fail_json(msg=f"valid_until must be an ISO 8601 date and time, got {valid_until!r}")
    parts, failed = read_live_state(module, params["watch"], params["probes"], params["live_extra"])
    live_digest = _digest(f"{name} {value}" for name, value in sorted(parts.items()))

    if params["state"] == "check":
        stamp = read_stamp(params["path"])
        match, reason = compare(stamp, params["inputs_digest"], parts, failed, datetime.now(UTC))
        outputs = stamp.get("outputs", {}) if match else {}
        module.exit_json(changed=False, match=match, reason=reason, live_digest=live_digest, outputs=outputs)

    if failed:
        # Never record a live state that fails a probe (a service still starting, say): drop any
        # older stamp instead, so that the next run converges in full.
        reason = f"not recorded, the live state fails a probe: {failed}"
        if not module.check_mode and os.path.exists(params["path"]):
            os.unlink(params["path"])
        module.warn(f"converge stamp {params['path']} {reason}")
        module.exit_json(changed=False, match=False, recorded=False, reason=reason, live_digest=live_digest, outputs={})
    if not module.check_mode:
        write_stamp(
            params["path"],
            {
                "format": STAMP_FORMAT,
                "inputs_digest": params["inputs_digest"],
                "live": parts,
                "watch": params["watch"],
                "probes": [[str(arg) for arg in argv] for argv in params["probes"]],
                "valid_until": valid_until,
                "outputs": params["outputs"],
                "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
    module.exit_json(
        changed=False, match=True, recorded=True, reason="recorded", live_digest=live_digest, outputs=params["outputs"]
    )


if __name__ == "__main__":
    main()

"""Filters of the container_images role: Debian package versions.

The images install Debian packages. Debian's mirror keeps only the current
revision of a package in a suite: when a security update lands, the previous
revision is gone and a build that asks for it fails. So the role pins what
stays (the package, its upstream version, the suite of the base image) and
takes, at build time, the newest revision the archive offers. A pin is one of:

- an exact Debian version, read as a floor within its upstream version:
  ``1.22.1-9+deb12u11`` accepts ``1.22.1-9+deb12u11`` and any later revision
  of nginx 1.22.1 (``1.22.1-9+deb12u12``), never ``1.24.0-1``;
- a shell-style pattern (``*``, ``?``, ``[``): any version it matches, e.g.
  ``17.0.*`` for a runtime whose security updates are new upstream releases.

container_images_debian_pick(madison, package, pin) takes the output of
``apt-cache madison`` and gives the newest version of ``package`` the pin
accepts, or fails naming the pin and the versions on offer.

container_images_debian_transaction(simulation) takes the output of
``apt-get --simulate install`` (or ``upgrade``) and gives {package: version}
for every package the transaction would install or upgrade: with the
versions of what the image will really contain, dependencies included.

container_images_debian_sections(output) splits an output whose sections start
with a line ``### NAME`` into {NAME: text}.

container_images_debian_stage_pins(specs) gives, from {image: {build
argument: [[package, pin], ...]}}, {"<image>/<build argument>": [[package,
pin], ...]}: one entry per build stage.

container_images_debian_stage_argv(stage_pins, versions) gives one argument
per stage, "<image>/<build argument>|package=version ...", for the
simulation; container_images_debian_stage_packages(simulation) reads the
simulation's output back as {"<image>/<build argument>": "package=version ..."}
(sorted, every package the stage installs or upgrades).

debian_version_compare(a, b) compares two Debian versions as dpkg does
(deb-version(7): epoch, then upstream version, then revision; ``~`` sorts
before everything, even the end of the string).
"""

from __future__ import annotations

import fnmatch
import functools
import re

from ansible.errors import AnsibleFilterError

_INST = re.compile(r"^Inst (?P<name>[^\s:]+)(?::\S+)? (?:\[[^\]]*\] )?\((?P<version>\S+) ")


def _split(version):
    epoch, sep, rest = version.partition(":")
    if not sep:
        epoch, rest = "0", version
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        upstream, revision = rest, ""
    if not epoch.isdigit():
        raise AnsibleFilterError(f"not a Debian version (epoch {epoch!r}): {version!r}")
    return int(epoch), upstream, revision


def _order(char):
    if char == "":
        return 0
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(left, right):
    i = j = 0
    while i < len(left) or j < len(right):
        while (i < len(left) and not left[i].isdigit()) or (j < len(right) and not right[j].isdigit()):
            ours = _order(left[i] if i < len(left) else "")
            theirs = _order(right[j] if j < len(right) else "")
            if ours != theirs:
                return ours - theirs
            i += 1
            j += 1
        while i < len(left) and left[i] == "0":
            i += 1
        while j < len(right) and right[j] == "0":
            j += 1
        first_diff = 0
        while i < len(left) and j < len(right) and left[i].isdigit() and right[j].isdigit():
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < len(left) and left[i].isdigit():
            return 1
        if j < len(right) and right[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def debian_version_compare(left, right):
    """Negative, zero or positive as left sorts before, with or after right."""
    left_epoch, left_upstream, left_revision = _split(left)
    right_epoch, right_upstream, right_revision = _split(right)
    if left_epoch != right_epoch:
        return left_epoch - right_epoch
    return _compare_part(left_upstream, right_upstream) or _compare_part(left_revision, right_revision)


_DEBIAN_ORDER = functools.cmp_to_key(debian_version_compare)


def _madison_versions(madison, package):
    versions = []
    for line in madison.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) >= 2 and fields[0] == package and fields[1] not in versions:
            versions.append(fields[1])
    return versions


def container_images_debian_pick(madison, package, pin):
    pin = str(pin)
    offered = _madison_versions(madison, package)
    if not offered:
        raise AnsibleFilterError(
            f"Debian package {package!r} is not in the archive the base image's apt sources name "
            "(apt-cache madison found nothing): check the package name and the suites"
        )
    if any(char in pin for char in "*?["):
        accepted = [version for version in offered if fnmatch.fnmatchcase(version, pin)]
        rule = f"matching {pin!r}"
    else:
        epoch, upstream, _revision = _split(pin)
        accepted = [
            version
            for version in offered
            if _split(version)[:2] == (epoch, upstream) and debian_version_compare(version, pin) >= 0
        ]
        rule = f"of upstream version {upstream!r} at or after {pin!r}"
    if not accepted:
        raise AnsibleFilterError(
            f"no version of Debian package {package!r} {rule} in the archive; it offers: "
            + ", ".join(sorted(offered, key=_DEBIAN_ORDER))
        )
    return max(accepted, key=_DEBIAN_ORDER)


def container_images_debian_transaction(simulation):
    found = {}
    for line in simulation.splitlines():
        match = _INST.match(line)
        if match:
            found[match.group("name")] = match.group("version")
    return found


def container_images_debian_sections(output):
    sections = {}
    name = None
    for line in output.splitlines():
        if line.startswith("### "):
            name = line[4:].strip()
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    return {key: "\n".join(lines) for key, lines in sections.items()}


def container_images_debian_stage_pins(specs):
    stages = {}
    for image, arguments in sorted(specs.items()):
        for argument, pins in sorted((arguments or {}).items()):
            stages[f"{image}/{argument}"] = [[str(package), str(pin)] for package, pin in pins]
    return stages


def container_images_debian_stage_argv(stage_pins, versions):
    return [
        stage + "|" + " ".join(f"{package}={versions[package]}" for package, _pin in pins)
        for stage, pins in sorted(stage_pins.items())
    ]


def container_images_debian_stage_packages(simulation):
    return {
        stage: " ".join(
            f"{name}={version}" for name, version in sorted(container_images_debian_transaction(text).items())
        )
        for stage, text in container_images_debian_sections(simulation).items()
    }


class FilterModule:
    def filters(self):
        return {
            "container_images_debian_pick": container_images_debian_pick,
            "container_images_debian_transaction": container_images_debian_transaction,
            "container_images_debian_sections": container_images_debian_sections,
            "container_images_debian_stage_pins": container_images_debian_stage_pins,
            "container_images_debian_stage_argv": container_images_debian_stage_argv,
            "container_images_debian_stage_packages": container_images_debian_stage_packages,
            "debian_version_compare": debian_version_compare,
        }

# ruff: noqa: E501  (apt output lines kept whole)
"""The container_images role's Debian version filters (plain Python, and dpkg to check the comparison)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from tests.support.plugins import load_role_filter

debian = load_role_filter("container_images", "container_images_debian")

# apt-cache madison as the archive answered on 2026-12-05, the day deb12u11 was replaced by deb12u12 in
# bookworm-security (the point release's own revision, deb12u9, is still in bookworm).
MADISON = """\
nginx-light | 1.22.1-9+deb12u12 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
nginx-light | 1.22.1-9+deb12u9 | http://deb.debian.org/debian bookworm/main amd64 Packages
openjdk-17-jre-headless | 17.0.21.1+2-1~deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
openjdk-17-jre-headless | 17.0.19+10-1~deb12u2 | http://deb.debian.org/debian bookworm/main amd64 Packages
     unzip | 6.0-28+deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
     unzip |     6.0-28 | http://deb.debian.org/debian bookworm/main amd64 Packages
   orthanc | 1.10.1+dfsg-2+deb12u1 | http://deb.debian.org/debian bookworm/main amd64 Packages
   orthanc | 1.10.1+dfsg-2+deb12u1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
"""

SIMULATION = """\
### nginx/DEBIAN_PACKAGES
Inst perl-base [5.36.0-7+deb12u3] (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])
Conf perl-base (5.36.0-7+deb12u4 Debian-Security:12/oldstable-security [amd64])
Inst zlib1g [1:1.2.13.dfsg-1] (1:1.2.13.dfsg-1+deb12u1 Debian-Security:12/oldstable-security [amd64])
Inst libpam-modules-bin [1.5.2-6+deb12u2] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) [libpam-modules:amd64 ]
Inst libkrb5-3 (1.20.1-2+deb12u5 Debian:12.15/oldstable, Debian-Security:12/oldstable-security [amd64])
Inst nginx-light (1.22.1-9+deb12u12 Debian-Security:12/oldstable-security [all])
Conf nginx-light (1.22.1-9+deb12u12 Debian-Security:12/oldstable-security [all])
### ghostunnel/DEBIAN_PACKAGES
Inst zlib1g [1:1.2.13.dfsg-1] (1:1.2.13.dfsg-1+deb12u1 Debian-Security:12/oldstable-security [amd64])
"""


def test_an_unavailable_pinned_revision_takes_the_newest_of_the_same_upstream_version():
    # deb12u11, the pin that broke the build on 2026-12-05, is no longer offered.
    assert debian.container_images_debian_pick(MADISON, "nginx-light", "1.22.1-9+deb12u11") == "1.22.1-9+deb12u12"


def test_a_floor_takes_a_newer_revision_even_when_its_own_is_offered():
    assert debian.container_images_debian_pick(MADISON, "nginx-light", "1.22.1-9+deb12u9") == "1.22.1-9+deb12u12"
    assert debian.container_images_debian_pick(MADISON, "unzip", "6.0-28") == "6.0-28+deb12u1"


def test_a_floor_never_crosses_to_another_upstream_version():
    madison = MADISON + "nginx-light | 1.24.0-2 | http://deb.debian.org/debian trixie/main amd64 Packages\n"
    assert debian.container_images_debian_pick(madison, "nginx-light", "1.22.1-9+deb12u11") == "1.22.1-9+deb12u12"


def test_a_pattern_takes_the_newest_version_it_matches():
    assert debian.container_images_debian_pick(MADISON, "openjdk-17-jre-headless", "17.0.*") == "17.0.21.1+2-1~deb12u1"
    assert debian.container_images_debian_pick(MADISON, "openjdk-17-jre-headless", "17.0.19*") == "17.0.19+10-1~deb12u2"


def test_a_floor_above_everything_offered_fails_naming_the_pin_and_the_offer():
    with pytest.raises(AnsibleFilterError) as error:
        debian.container_images_debian_pick(MADISON, "nginx-light", "1.22.1-9+deb12u99")
    assert "'nginx-light'" in str(error.value)
    assert "1.22.1-9+deb12u99" in str(error.value)
    assert "1.22.1-9+deb12u9, 1.22.1-9+deb12u12" in str(error.value)


def test_a_package_the_archive_lacks_fails_clearly():
    with pytest.raises(AnsibleFilterError, match="'nginx-full' is not in the archive"):
        debian.container_images_debian_pick(MADISON, "nginx-full", "1.22.1-9")


def test_the_simulation_gives_every_package_with_the_version_it_installs():
    stages = debian.container_images_debian_stage_packages(SIMULATION)
    assert stages == {
        "nginx/DEBIAN_PACKAGES": "libkrb5-3=1.20.1-2+deb12u5 libpam-modules-bin=1.5.2-6+deb12u3 "
        "nginx-light=1.22.1-9+deb12u12 perl-base=5.36.0-7+deb12u4 zlib1g=1:1.2.13.dfsg-1+deb12u1",
        "ghostunnel/DEBIAN_PACKAGES": "zlib1g=1:1.2.13.dfsg-1+deb12u1",
    }


def test_a_stage_without_packages_gives_an_empty_list():
    assert debian.container_images_debian_stage_packages("### ghostunnel/DEBIAN_PACKAGES\n") == {
        "ghostunnel/DEBIAN_PACKAGES": ""
    }


def test_stage_pins_and_the_simulation_arguments():
    specs = {
        "nginx": {"DEBIAN_PACKAGES": [["nginx-light", "1.22.1-9+deb12u11"]]},
        "ghostunnel": {"DEBIAN_PACKAGES": []},
        "pacs-dicoogle": {
            "UNPACK_DEBIAN_PACKAGES": [["unzip", "6.0-28"]],
            "DEBIAN_PACKAGES": [["openjdk-17-jre-headless", "17.0.*"]],
        },
    }
    stages = debian.container_images_debian_stage_pins(specs)
    assert list(stages) == [
        "ghostunnel/DEBIAN_PACKAGES",
        "nginx/DEBIAN_PACKAGES",
        "pacs-dicoogle/DEBIAN_PACKAGES",
        "pacs-dicoogle/UNPACK_DEBIAN_PACKAGES",
    ]
    versions = {
        "nginx-light": "1.22.1-9+deb12u12",
        "unzip": "6.0-28+deb12u1",
        "openjdk-17-jre-headless": "17.0.21.1+2-1~deb12u1",
    }
    assert debian.container_images_debian_stage_argv(stages, versions) == [
        "ghostunnel/DEBIAN_PACKAGES|",
        "nginx/DEBIAN_PACKAGES|nginx-light=1.22.1-9+deb12u12",
        "pacs-dicoogle/DEBIAN_PACKAGES|openjdk-17-jre-headless=17.0.21.1+2-1~deb12u1",
        "pacs-dicoogle/UNPACK_DEBIAN_PACKAGES|unzip=6.0-28+deb12u1",
    ]


PAIRS = [
    ("1.22.1-9+deb12u12", "1.22.1-9+deb12u11"),
    ("1.22.1-9+deb12u9", "1.22.1-9+deb12u12"),
    ("17.0.21.1+2-1~deb12u1", "17.0.19+10-1~deb12u2"),
    ("1.0~rc1", "1.0"),
    ("1.0", "1.0~rc1"),
    ("1:1.0", "2.0"),
    ("1.0-1", "1.0-1"),
    ("1.0", "1.0-0"),
    ("1.0a", "1.0+"),
    ("1.0.0", "1.0"),
    ("6.0-28", "6.0-28+deb12u1"),
    ("1.10.1+dfsg-2+deb12u1", "1.10.1+dfsg-2"),
    ("2.6.1", "2.6.10"),
    ("0.9~~", "0.9~"),
    ("1.2.3-1build1", "1.2.3-1+b1"),
]


@pytest.mark.parametrize(("left", "right"), PAIRS)
def test_the_comparison_agrees_with_dpkg(left, right):
    dpkg = shutil.which("dpkg")
    if dpkg is None:
        pytest.fail("dpkg is needed to check the comparison (this project runs on Debian)")
    ours = debian.debian_version_compare(left, right)
    for relation, holds in (("lt", ours < 0), ("eq", ours == 0), ("gt", ours > 0)):
        theirs = subprocess.run([dpkg, "--compare-versions", left, relation, right], check=False).returncode == 0
        assert holds == theirs, f"{left} {relation} {right}: dpkg says {theirs}, ours {ours}"

"""The lab ALB's htpasswd filter (roles/lab_alb/filter_plugins/lab_alb.py): bcrypt lines oauth2-proxy reads."""

from __future__ import annotations

import bcrypt
import pytest

from tests.support.plugins import load_plugin

filters = load_plugin("roles/lab_alb/filter_plugins/lab_alb.py", "lab_alb_filters")

USERS = [{"name": "pacs-admin", "password": "first-password-0123"}, {"name": "second", "password": "another-one-4567"}]


def parse(text: str) -> dict[str, str]:
    assert text.endswith("\n")
    return dict(line.split(":", 1) for line in text.splitlines())


def test_each_line_is_a_bcrypt_hash_of_that_users_password():
    lines = parse(filters.lab_alb_htpasswd(USERS, "pacs-lab", 4))
    assert list(lines) == ["pacs-admin", "second"]
    for user in USERS:
        hashed = lines[user["name"]]
        assert hashed.startswith("$2b$04$")
        assert bcrypt.checkpw(user["password"].encode(), hashed.encode())
        assert not bcrypt.checkpw(b"not-" + user["password"].encode(), hashed.encode())


def test_the_same_logins_give_the_same_file_and_a_new_password_a_new_salt():
    first = filters.lab_alb_htpasswd(USERS, "pacs-lab", 4)
    assert filters.lab_alb_htpasswd(USERS, "pacs-lab", 4) == first
    changed = [{**USERS[0], "password": "rotated-password-89"}, USERS[1]]
    before, after = parse(first), parse(filters.lab_alb_htpasswd(changed, "pacs-lab", 4))
    assert after["second"] == before["second"]
    assert after["pacs-admin"][:29] != before["pacs-admin"][:29], "the salt must change with the password"
    other_seed = parse(filters.lab_alb_htpasswd(USERS, "another-deployment", 4))
    assert other_seed["pacs-admin"] != before["pacs-admin"]


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ([{"name": "a:b", "password": "x"}], "holds ':'"),
        ([{"name": "", "password": "x"}], "is empty"),
        ([{"name": "long", "password": "p" * 73}], "72 bytes"),
    ],
)
def test_logins_bcrypt_or_the_file_cannot_hold_are_refused(users, message):
    with pytest.raises(ValueError, match=message):
        filters.lab_alb_htpasswd(users, "pacs-lab", 4)

"""module_utils/pacs_checks.py: the one AE title check and the one port check of the modules and the filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from library import pacs_peers_engine
from module_utils.pacs_checks import ae_title_problem, port_number
from tests.support.plugins import load_plugin, load_role_filter

CHECKS = Path(__file__).resolve().parents[2] / "module_utils" / "pacs_checks.py"


@pytest.mark.parametrize(
    "aet",
    ["A", "DICOOGLE-STORAGE", "WITH SPACE", "SYM!#$%&'()*+,-.", "~[]^_`{|}", "0123456789ABCDEF"],
)
def test_ae_titles_of_the_dicom_character_set_are_accepted(aet):
    assert ae_title_problem(aet) == ""


@pytest.mark.parametrize(
    ("aet", "rule"),
    [
        (None, "must be a string"),
        (12, "must be a string"),
        ("BAD\\AET", "must not contain a backslash (DICOM's value separator)"),
        ("\\", "must not contain a backslash"),
        ("", "must be 1-16 characters of the DICOM AE character set (printable ASCII, no control characters)"),
        ("A" * 17, "must be 1-16 characters"),
        ("TAB\tAET", "no control characters"),
        ("ÄRZTE", "must be 1-16 characters"),
        ("    ", "must not be only spaces"),
        (" LEADING", "must not start or end with a space"),
        ("TRAILING ", "must not start or end with a space"),
    ],
)
def test_bad_ae_titles_are_refused_with_the_rule(aet, rule):
    assert rule in ae_title_problem(aet)


@pytest.mark.parametrize(
    ("value", "port"),
    [(1, 1), (65535, 65535), ("104", 104), (" 8443 ", 8443), (0, None), (65536, None), (-1, None)],
)
def test_port_numbers(value, port):
    assert port_number(value) == port


@pytest.mark.parametrize("value", [True, False, None, "", "http", "80.5", 80.5, [80], {"port": 80}])
def test_what_is_not_a_whole_number_is_no_port(value):
    # 80.5 as a float: int("80.5") fails, as a string it would for any reader.
    assert port_number(value) is None


@pytest.mark.parametrize(
    ("where", "names"),
    [
        (load_plugin("filter_plugins/pacs_peers.py", "pacs_peers_checks"), ["ae_title_problem", "port_number"]),
        (load_role_filter("pacs_settings", "pacs_settings"), ["ae_title_problem"]),
        (load_role_filter("pacs_task", "pacs_task_definition"), ["port_number"]),
        (pacs_peers_engine, ["ae_title_problem"]),
    ],
    ids=["filter pacs_peers", "filter pacs_settings", "filter pacs_task_definition", "module pacs_peers_engine"],
)
def test_the_filters_and_the_module_use_this_one_file(where, names):
    for name in names:
        assert Path(getattr(where, name).__code__.co_filename).resolve() == CHECKS, name

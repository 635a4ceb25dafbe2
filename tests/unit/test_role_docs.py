"""tools/role_docs.py: role README variable tables generated from meta/argument_specs.yml.

A small role in tmp_path (spec, defaults, README) pins the table's contents, --check's exit
status and that a second run changes nothing; the last test checks that every README of the
real repository is current, so the unit lane fails on a stale one as the role-docs gate does.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "role_docs.py"

_spec = importlib.util.spec_from_file_location("tools_role_docs", SCRIPT)
role_docs = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = role_docs  # dataclasses look their module up while the class is made
_spec.loader.exec_module(role_docs)

SPEC = """\
---
argument_specs:
  main:
    short_description: A demo role that C(renders) things.
    description:
      - Not shown in the table.
    options:
      demo_name:
        type: str
        required: true
        description: Name of the demo, used in <deployment>/demo.
      demo_mode:
        type: str
        default: fast
        choices: [fast, slow]
        description:
          - How the demo runs,
          - C(fast) or C(slow).
      demo_port:
        type: int
        description: Port, its default from defaults/main.yml.
      demo_filter:
        type: str
        description: A value with a pipe, a|b, in its text.
      demo_secret:
        type: str
        no_log: true
        description: A password.
      demo_uids:
        type: list
        elements: str
        description: Many values.
      demo_script:
        type: str
        description: A multi-line template.
      demo_unset:
        type: str
        description: Neither a spec default nor one in defaults/main.yml.
      demo_jobs:
        type: list
        elements: dict
        default: []
        description: Jobs.
        options:
          name:
            type: str
            required: true
            description: Job name.
          when:
            type: dict
            description: Schedule.
            options:
              calendar:
                type: str
                default: daily
                description: systemd calendar.
  extra:
    short_description: Another entry point.
    options:
      demo_name:
        type: str
        required: true
        description: Name of the demo, used in <deployment>/demo.
      demo_extra:
        type: bool
        default: false
        description: Only here.
  same:
    short_description: Takes what main takes.
    options: {}
"""

DEFAULTS = """\
---
demo_mode: slow
demo_port: 8080
demo_filter: "{{ demo_name | upper }}"
demo_secret: ""
demo_uids: [1.2.840.10008.1.2, 1.2.840.10008.1.2.1, 1.2.840.10008.1.2.2, 1.2.840.10008.1.2.4.70, 1.2.840.10008.1.2.5]
demo_script: |
  {% for x in demo_uids %}
  {{ x }}
  {% endfor %}
"""

README = """\
# demo

What the demo does, and why.

## Variables

The project maps them in group_vars/all/demo.yml, because the demo needs them.

## Facts set

`demo_result`.
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    role = tmp_path / "roles" / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "meta" / "argument_specs.yml").write_text(SPEC)
    (role / "defaults" / "main.yml").write_text(DEFAULTS)
    (role / "README.md").write_text(README)
    return tmp_path


def run(repo: Path, *args: str) -> int:
    return role_docs.main([*args, "--root", str(repo)])


def rows(readme: str) -> dict[str, list[str]]:
    """Table rows by their first cell (the variable's name without backticks)."""
    found = {}
    for line in readme.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            found.setdefault(cells[0].strip("`"), cells)
    return found


def test_table_contents(repo: Path) -> None:
    assert run(repo) == 0
    readme = (repo / "roles" / "demo" / "README.md").read_text()
    table = rows(readme)
    header = "| Variable | Type | Default | Choices | Description |"
    assert header in readme

    assert table["demo_name"][1:3] == ["str", "**required**"]
    assert "&lt;deployment>/demo" in table["demo_name"][4]
    # The spec's default wins over defaults/main.yml; choices and Ansible markup.
    assert table["demo_mode"][1:] == ["str", "`fast`", "`fast`, `slow`", "How the demo runs, `fast` or `slow`."]
    # A default from defaults/main.yml when the spec has none.
    assert table["demo_port"][1:3] == ["int", "`8080`"]
    # Pipes escaped in the default and in the description, so the row keeps its cells.
    assert table["demo_filter"][2] == "`{{ demo_name \\| upper }}`"
    assert "a\\|b" in table["demo_filter"][4]
    assert table["demo_secret"][2] == '`""`'
    assert table["demo_secret"][4].endswith("Marked `no_log`.")
    # A long value is cut with an ellipsis and says how many items it has.
    assert table["demo_uids"][1] == "list of str"
    assert "…" in table["demo_uids"][2] and "(5 items)" in table["demo_uids"][2]
    assert len(table["demo_uids"][2]) < 90
    assert table["demo_script"][2] == "computed, see `defaults/main.yml`"
    assert table["demo_unset"][2] == "—"
    # Suboptions follow their option: a list of dicts, then a dict inside it.
    names = list(table)
    assert names.index("demo_jobs[].name") == names.index("demo_jobs") + 1
    assert table["demo_jobs"][1] == "list of dict"
    assert table["demo_jobs[].name"][2] == "**required**"
    assert table["demo_jobs[].when.calendar"][1:3] == ["str", "`daily`"]


def test_entry_points_and_placement(repo: Path) -> None:
    assert run(repo) == 0
    readme = (repo / "roles" / "demo" / "README.md").read_text()
    # The README's own prose stays; the block goes at the end of its Variables section.
    assert readme.startswith("# demo\n\nWhat the demo does, and why.\n\n## Variables\n\nThe project maps them")
    begin, end = readme.index(role_docs.BEGIN), readme.index(role_docs.END)
    assert readme.index("because the demo needs them") < begin < end < readme.index("## Facts set")
    assert readme.count("## Variables") == 1
    block = readme[begin:end]
    # main first, then the others in the spec's order, one heading level below the section.
    assert block.index("### Entry point `main`") < block.index("### Entry point `extra`")
    assert block.index("### Entry point `extra`") < block.index("### Entry point `same`")
    assert "A demo role that `renders` things." in block
    extra = block[block.index("### Entry point `extra`") : block.index("### Entry point `same`")]
    assert "`demo_extra`" in extra
    assert "Also, as in `main`: `demo_name`." in extra
    assert "| `demo_name` |" not in extra
    assert "No options." in block[block.index("### Entry point `same`") :]


def test_check_second_run_and_staleness(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = repo / "roles" / "demo" / "README.md"
    assert run(repo, "--check") == 1
    out = capsys.readouterr().out
    assert "stale: roles/demo/README.md" in out
    assert "run `python tools/role_docs.py`" in out
    assert readme.read_text() == README  # --check writes nothing

    assert run(repo) == 0
    first = readme.read_text()
    assert "wrote roles/demo/README.md" in capsys.readouterr().out
    assert run(repo, "--check") == 0
    assert run(repo) == 0
    assert "wrote" not in capsys.readouterr().out
    assert readme.read_text() == first

    # A changed spec makes the README stale again; a regeneration replaces only the block.
    spec = repo / "roles" / "demo" / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("Jobs.", "Jobs to run."))
    assert run(repo, "--check") == 1
    assert run(repo) == 0
    assert "| Jobs to run. |" in readme.read_text()
    assert readme.read_text().replace("Jobs to run.", "Jobs.") == first

    # A hand edit inside the markers is stale too.
    readme.write_text(readme.read_text().replace("| Jobs to run. |", "| Edited. |"))
    assert run(repo, "--check") == 1


def test_missing_readme_is_made(repo: Path) -> None:
    readme = repo / "roles" / "demo" / "README.md"
    readme.unlink()
    assert run(repo, "--check") == 1
    assert not readme.exists()
    assert run(repo, "--role", "demo") == 0
    text = readme.read_text()
    assert text.startswith("# demo\n\nA demo role that `renders` things.\n\n## Variables\n\n" + role_docs.BEGIN)
    assert text.endswith(role_docs.END + "\n")
    assert run(repo, "--check") == 0


def test_readme_without_variables_section(repo: Path) -> None:
    readme = repo / "roles" / "demo" / "README.md"
    readme.write_text("# demo\n\nText.\n\n## Facts set\n\n`demo_result`.\n")
    assert run(repo) == 0
    text = readme.read_text()
    assert text.index("## Variables\n\n" + role_docs.BEGIN) < text.index(role_docs.END) < text.index("## Facts set")
    assert "\n\n\n" not in text


def test_bad_markers_and_unknown_role(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = repo / "roles" / "demo" / "README.md"
    readme.write_text(README + "\n" + role_docs.BEGIN + "\n")
    assert run(repo, "--check") == 2
    assert "role_docs:" in capsys.readouterr().err
    assert run(repo, "--check", "--role", "nosuchrole") == 2


def test_value_formatting() -> None:
    value = role_docs.format_value
    assert value("", "x") == '`""`'
    assert value(None, "x") == "`null`"
    assert value(True, "x") == "`true`"
    assert value({"a": 1}, "x") == "`{a: 1}`"
    assert value("a`b", "x") == "`` a`b ``"
    assert value("x" * 100, "x") == "`" + "x" * 59 + "…`"
    cut = value([{"name": "reconfigure", "playbook": "playbooks/reconfigure.yml" * 3}, {"name": "b"}], "x")
    assert cut.startswith("`[{name: reconfigure, …}, …]`") and cut.endswith("(2 items)")
    assert role_docs.markup("C(f(x)) and B(bold) in L(text, https://example.org) `a|b`") == (
        "`f(x)` and **bold** in [text](https://example.org) `a\\|b`"
    )


def test_repository_readmes_are_current() -> None:
    """Every roles/*/README.md is what tools/role_docs.py makes of its role's spec."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "  ")

#!/usr/bin/env python3
"""Generate each role README's variable tables from its meta/argument_specs.yml.

    python tools/role_docs.py               rewrite every role README that is stale
    python tools/role_docs.py --check       write nothing; exit 1 naming each stale README
    python tools/role_docs.py --role NAME   only that role (repeatable)
    python tools/role_docs.py --check --diff  also print what would change

For every roles/*/meta/argument_specs.yml it renders, per entry point (main first, then the
others in the spec's order), a Markdown table of the options: name, type, required or default,
choices, description; suboptions follow their option as rows named `option.sub` (a dict) or
`option[].sub` (a list of dicts). A default is the spec's `default:`, else the value in the role's
defaults/main.yml; long values are cut with an ellipsis. An entry point whose options repeat
main's (same spec) names them instead of repeating their rows.

The tables go between two marker lines of the role's README.md:

    <!-- BEGIN role_docs: generated from meta/argument_specs.yml by tools/role_docs.py, do not edit -->
    <!-- END role_docs -->

Everything outside the markers is the README author's. A README without the markers gets them
at the end of its variables section (a heading "Variables", "Role variables" or "Inputs"), else
in a new "## Variables" section before "## Facts set", else at its end. A role without a README
gets a minimal one. The output depends on nothing but the files, so a second run changes nothing.

Exit status: 0 all current (or rewritten), 1 stale READMEs (--check), 2 a usage or input error.
Only the standard library and PyYAML.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN role_docs: generated from meta/argument_specs.yml by tools/role_docs.py, do not edit -->"
END = "<!-- END role_docs -->"
BEGIN_PREFIX = "<!-- BEGIN role_docs"
HINT = "run `python tools/role_docs.py` to regenerate them (the tables come from meta/argument_specs.yml)"
# Longest default shown in a table cell, in characters, before it is cut with an ellipsis.
VALUE_WIDTH = 60
# Headings whose section holds a README's variables (case-insensitive).
VARIABLE_HEADINGS = ("variables", "role variables", "inputs")
ELLIPSIS = "…"
_MISSING = object()


class RoleDocsError(Exception):
    """An input the tool cannot handle (a spec it cannot read, markers out of order)."""


# --- Ansible markup and Markdown escaping -----------------------------------------------------

# Ansible's documentation markup: C(code), O(option), V(value), E(env), RV(return value),
# P(plugin), M(module), I(italic, in roles an option name), B(bold), U(url), L(text,url).
# The argument runs to the matching parenthesis, so C(f(x)) is `f(x)`.
_MARKUP_START = re.compile(r"`+|\b(?:RV|[COVEPMIBUL])\(|HORIZONTALLINE")
_MONO = {"C", "O", "V", "E", "RV", "P", "M", "I"}


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one opened just before start; -1 when none does."""
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


def escape_text(text: str) -> str:
    """Plain text for a Markdown table cell: no HTML tags, no emphasis, no cell breaks."""
    text = text.replace("\\", "\\\\")
    text = text.replace("<", "&lt;")
    text = text.replace("*", "\\*")
    return text.replace("|", "\\|")


def code(text: str) -> str:
    """`text` as a code span that survives a table cell (pipes escaped, backticks fenced)."""
    text = text.replace("|", "\\|")
    if "`" not in text:
        return f"`{text}`"
    longest = max(len(run) for run in re.findall(r"`+", text))
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def markup(text: str) -> str:
    """Ansible markup and plain text to one line of Markdown for a table cell."""
    text = re.sub(r"\s*\n\s*", " ", text).strip()
    out: list[str] = []
    plain = 0  # start of the plain text not yet written
    search = 0
    while match := _MARKUP_START.search(text, search):
        opener = match.group()
        replacement = None
        end = match.end()
        if opener.startswith("`"):
            closing = text.find(opener, end)
            if closing >= 0:
                replacement = code(text[end:closing].strip())
                end = closing + len(opener)
        elif opener == "HORIZONTALLINE":
            replacement = ""
        else:
            closing = _closing(text, end)
            if closing >= 0:
                name, argument = opener[:-1], text[end:closing]
                end = closing + 1
                if name in _MONO:
                    replacement = code(argument)
                elif name == "B":
                    replacement = f"**{escape_text(argument)}**"
                elif name == "U":
                    replacement = f"<{argument.strip()}>"
                else:  # L(text, url)
                    label, _, url = argument.rpartition(",")
                    replacement = f"[{escape_text(label.strip())}]({url.strip()})"
        if replacement is None:
            search = match.start() + 1
            continue
        out.append(escape_text(text[plain : match.start()]))
        out.append(replacement)
        plain = search = end
    out.append(escape_text(text[plain:]))
    return "".join(out)


def description_text(description: Any) -> str:
    """A spec's description (a string or a list of strings) as one cell."""
    if description is None:
        return ""
    if isinstance(description, list):
        return " ".join(markup(str(part)) for part in description if str(part).strip())
    return markup(str(description))


# --- Values -------------------------------------------------------------------------------


def _flow(value: Any) -> str:
    """A value as compact one-line YAML (flow style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    dumped = yaml.safe_dump(value, default_flow_style=True, width=2**31 - 1, allow_unicode=True, sort_keys=False)
    dumped = dumped.strip()
    if dumped.endswith("\n..."):
        dumped = dumped[: -len("\n...")]
    return dumped.strip()


def _cut(value: Any, width: int) -> str:
    """value as flow YAML in about width characters: long strings cut, collections shortened to
    as many leading items as fit (the first one shortened itself when it alone is too long)."""
    text = _flow(value)
    if len(text) <= width:
        return text
    if not isinstance(value, list | dict) or not value:
        return text[: max(width - 1, 1)].rstrip() + ELLIPSIS
    if isinstance(value, dict):
        pairs = [(f"{_flow(key)}: ", item) for key, item in value.items()]
        opening, closing = "{", "}"
    else:
        pairs = [("", item) for item in value]
        opening, closing = "[", "]"
    kept: list[str] = []
    for lead, item in pairs:
        candidate = lead + _flow(item)
        if len(opening + ", ".join([*kept, candidate, ELLIPSIS]) + closing) > width:
            if not kept:
                room = width - len(opening + lead + ", " + ELLIPSIS + closing)
                if room >= 8:
                    kept.append(lead + _cut(item, room))
            break
        kept.append(candidate)
    return opening + ", ".join([*kept, ELLIPSIS]) + closing


def format_value(value: Any, source: str, width: int = VALUE_WIDTH) -> str:
    """A default as a table cell: one line in backticks, cut with an ellipsis when long.

    source names where the value is written (shown when it is cut to nothing useful).
    """
    if isinstance(value, str):
        if "\n" in value.strip():
            first = value.strip().splitlines()[0].strip()
            if "{{" in value or "{%" in value or not first:
                return f"computed, see {code(source)}"
            value = first + " " + ELLIPSIS
        if value == "" or value != value.strip():
            value = json.dumps(value, ensure_ascii=False)
        if len(value) > width:
            value = value[: width - 1].rstrip() + ELLIPSIS
        return code(value)
    if isinstance(value, list | dict):
        text = _flow(value)
        if len(text) <= width:
            return code(text)
        noun = "key" if isinstance(value, dict) else "item"
        noun += "" if len(value) == 1 else "s"
        return f"{code(_cut(value, width))} ({len(value)} {noun})"
    return code(_flow(value))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# --- Tables -------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    type: str
    default: str
    choices: str
    description: str


@dataclass
class EntryPoint:
    name: str
    short_description: str
    options: dict[str, Any] = field(default_factory=dict)


def type_text(spec: dict) -> str:
    kind = str(spec.get("type", "str"))
    elements = spec.get("elements")
    if kind == "list" and elements:
        return f"list of {elements}"
    return kind


def option_rows(
    options: dict[str, Any], defaults: dict[str, Any], prefix: str = "", defaults_source: str = ""
) -> list[Row]:
    """Rows for options and, after each, its suboptions (recursively)."""
    rows: list[Row] = []
    for name, spec in options.items():
        spec = spec or {}
        if not isinstance(spec, dict):
            raise RoleDocsError(f"option {prefix}{name}: its spec is not a mapping")
        full_name = f"{prefix}{name}"
        if "default" in spec:
            value, source = spec["default"], "meta/argument_specs.yml"
        elif not prefix and name in defaults:
            value, source = defaults[name], defaults_source
        else:
            value, source = _MISSING, ""
        if spec.get("required"):
            default = "**required**"
            if value is not _MISSING and not _is_empty(value):
                default += f", default {format_value(value, source)}"
        elif value is _MISSING:
            default = "—"
        else:
            default = format_value(value, source)
        choices = ", ".join(format_value(choice, "meta/argument_specs.yml") for choice in spec.get("choices") or [])
        description = description_text(spec.get("description"))
        notes = []
        if spec.get("aliases"):
            notes.append("Aliases: " + ", ".join(code(str(alias)) for alias in spec["aliases"]) + ".")
        if spec.get("no_log"):
            notes.append("Marked `no_log`.")
        description = " ".join(part for part in [description, *notes] if part)
        rows.append(Row(code(full_name), type_text(spec), default, choices, description))
        if spec.get("options"):
            sub_prefix = f"{full_name}[]." if spec.get("type") == "list" else f"{full_name}."
            rows.extend(option_rows(spec["options"], {}, sub_prefix))
    return rows


def table(rows: list[Row]) -> str:
    with_choices = any(row.choices for row in rows)
    header = ["Variable", "Type", "Default", *(["Choices"] if with_choices else []), "Description"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        cells = [row.name, row.type, row.default, *([row.choices] if with_choices else []), row.description]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def entry_points(spec_path: Path) -> list[EntryPoint]:
    try:
        data = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RoleDocsError(f"{spec_path}: not YAML: {error}") from error
    specs = data.get("argument_specs") if isinstance(data, dict) else None
    if not isinstance(specs, dict):
        raise RoleDocsError(f"{spec_path}: no argument_specs mapping")
    names = sorted(specs, key=lambda name: name != "main")  # main first, the rest in spec order
    result = []
    for name in names:
        spec = specs[name] or {}
        result.append(
            EntryPoint(
                name=str(name),
                short_description=str(spec.get("short_description") or "").strip(),
                options=spec.get("options") or {},
            )
        )
    return result


def load_defaults(role_dir: Path) -> dict[str, Any]:
    path = role_dir / "defaults" / "main.yml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RoleDocsError(f"{path}: not YAML: {error}") from error
    return data if isinstance(data, dict) else {}


def render_block(role_dir: Path, heading_level: int = 3) -> tuple[str, int]:
    """The generated Markdown between the markers, and the number of option rows in it."""
    points = entry_points(role_dir / "meta" / "argument_specs.yml")
    defaults = load_defaults(role_dir)
    source = "defaults/main.yml"
    hashes = "#" * min(max(heading_level, 1), 6)
    single = len(points) == 1 and points[0].name == "main"
    main = next((point for point in points if point.name == "main"), None)
    parts: list[str] = []
    count = 0
    for point in points:
        if not single:
            parts.append(f"{hashes} Entry point `{point.name}`")
            if point.short_description:
                parts.append(markup(point.short_description))
        shared: list[str] = []
        own = point.options
        if main is not None and point is not main:
            shared = [name for name, spec in point.options.items() if main.options.get(name, _MISSING) == spec]
            own = {name: spec for name, spec in point.options.items() if name not in shared}
        if not point.options:
            parts.append("No options.")
            continue
        if shared and not own and list(point.options) == list(main.options):
            parts.append("The same options as `main`.")
            continue
        if own:
            rows = option_rows(own, defaults, defaults_source=source)
            count += len(rows)
            parts.append(table(rows))
        if shared:
            names = ", ".join(code(name) for name in shared)
            lead = "Also, as in `main`:" if own else "Options as in `main`:"
            parts.append(f"{lead} {names}.")
    return "\n\n".join(parts), count


# --- READMEs ------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every ATX heading outside fenced code."""
    found = []
    fenced = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        match = _HEADING.match(line)
        if match:
            found.append((index, len(match.group(1)), match.group(2)))
    return found


def _markers(lines: list[str], readme: Path) -> tuple[int, int] | None:
    begins = [index for index, line in enumerate(lines) if line.strip().startswith(BEGIN_PREFIX)]
    ends = [index for index, line in enumerate(lines) if line.strip() == END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise RoleDocsError(f"{readme}: needs exactly one {BEGIN_PREFIX} ... --> line before one {END} line")
    return begins[0], ends[0]


def _section_level(lines: list[str], before: int) -> int:
    """Level of the heading the line `before` is under (0: none)."""
    level = 0
    for index, heading_level, _title in headings(lines):
        if index < before:
            level = heading_level
    return level


def update_readme(text: str | None, role_dir: Path, readme: Path) -> tuple[str, int]:
    """The README's text with the generated block in place (made when text is None)."""
    if text is None:
        points = entry_points(role_dir / "meta" / "argument_specs.yml")
        purpose = next((point.short_description for point in points if point.name == "main"), "")
        if not purpose and points:
            purpose = points[0].short_description
        text = f"# {role_dir.name}\n\n" + (f"{markup(purpose)}\n\n" if purpose else "") + "## Variables\n"
    lines = text.split("\n")
    trailing_newline = text.endswith("\n")
    if trailing_newline:
        lines = lines[:-1]
    found = _markers(lines, readme)
    if found is None:
        lines, begin = _insert_markers(lines)
    else:
        begin, end = found
        del lines[begin + 1 : end + 1]
    level = _section_level(lines, begin) + 1 if _section_level(lines, begin) else 3
    block, count = render_block(role_dir, level)
    lines[begin : begin + 1] = [BEGIN, "", *block.split("\n"), "", END]
    return "\n".join(lines) + "\n", count


def _insert_markers(lines: list[str]) -> tuple[list[str], int]:
    """Lines with a BEGIN line placed where the variables belong, and its index."""
    found = headings(lines)
    for position, (index, level, title) in enumerate(found):
        if title.strip().lower().rstrip(":") in VARIABLE_HEADINGS:
            following = [other for other, other_level, _ in found[position + 1 :] if other_level <= level]
            end = following[0] if following else len(lines)
            while end > index + 1 and not lines[end - 1].strip():
                end -= 1
            gap = [""] if end < len(lines) and lines[end].strip() else []
            new = [*lines[:end], "", BEGIN, *gap, *lines[end:]]
            return new, end + 1
    for index, level, title in found:
        if level == 2 and title.strip().lower().startswith("facts set"):
            new = [*lines[:index], "## Variables", "", BEGIN, "", *lines[index:]]
            return new, index + 2
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if lines and lines[-1].strip() == "## Variables":
        return [*lines, "", BEGIN], len(lines) + 1
    return [*lines, "", "## Variables", "", BEGIN], len(lines) + 3


# --- Command line -------------------------------------------------------------------------


def role_dirs(root: Path, only: list[str] | None) -> list[Path]:
    found = sorted(path.parent.parent for path in (root / "roles").glob("*/meta/argument_specs.yml"))
    if not only:
        return found
    by_name = {path.name: path for path in found}
    missing = [name for name in only if name not in by_name]
    if missing:
        raise RoleDocsError("no roles/<name>/meta/argument_specs.yml for: " + ", ".join(missing))
    return [by_name[name] for name in sorted(set(only))]


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a README is stale")
    parser.add_argument("--diff", action="store_true", help="print what would change (with --check)")
    parser.add_argument("--role", action="append", metavar="NAME", help="only this role (repeatable)")
    parser.add_argument("--root", type=Path, default=root, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    stale: list[Path] = []
    total = 0
    try:
        dirs = role_dirs(root, args.role)
        for role_dir in dirs:
            readme = role_dir / "README.md"
            old = readme.read_text(encoding="utf-8") if readme.is_file() else None
            new, count = update_readme(old, role_dir, readme)
            total += count
            if new == old:
                continue
            shown = readme.relative_to(root) if readme.is_relative_to(root) else readme
            stale.append(shown)
            if args.diff:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        (old or "").splitlines(keepends=True),
                        new.splitlines(keepends=True),
                        f"a/{shown}",
                        f"b/{shown}",
                    )
                )
            if not args.check:
                readme.write_text(new, encoding="utf-8")
                print(f"wrote {shown}")
    except (RoleDocsError, OSError) as error:
        print(f"role_docs: {error}", file=sys.stderr)
        return 2
    if args.check and stale:
        for path in stale:
            print(f"stale: {path}")
        print(f"role_docs: {len(stale)} of {len(dirs)} role READMEs are stale; {HINT}")
        return 1
    state = "current" if args.check else f"current ({len(stale)} rewritten)"
    print(f"role_docs: {len(dirs)} role READMEs {state}, {total} option rows from meta/argument_specs.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())

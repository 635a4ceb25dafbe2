"""The DIMSE TLS edges' admission policy: OPA rego for ghostunnel's --allow-policy.

Both edges of the PACS task (ghostunnel-storage, ghostunnel-query) load one
policy file and each asks its own query of it (QUERIES). A client gets in when
its certificate's CN is in that port's list and its serial is not revoked.
ghostunnel v1.8.4 re-reads the file on SIGHUP and keeps the old policy when the
new one does not compile, so the text is rendered here, never by hand.

  pacs_edge_policy(edge)          the rego text of edge = {storage: [cn, ...],
                                  query: [cn, ...], revoked_serials: ["<decimal>", ...]}
  pacs_edge_policy_parse(text)    that dict back from a rendered text (the
                                  day-two report reads the live file out of
                                  a running edge); anything else is refused
  pacs_edge_policy_problems(edge) why edge cannot be rendered (empty: fine)

The text is a pure function of the normalised input (lists sorted, duplicates
dropped, serials as canonical decimals), so an unchanged edge gives the same
bytes and the secret that carries it gets no new version. Each list is one
line holding a JSON array: a Rego string literal is a JSON string, so
json.dumps escapes any CN safely, and the parser reads the line back with
json.loads.

ghostunnel v1.8.4 embeds OPA v1.0.0 through its v0-compatible API: the
default syntax is v0, and `if`/`in` need the future.keywords imports.
input.certificate is Go's x509.Certificate: SerialNumber arrives as a big
JSON number. sprintf("%d") prints every digit of it, while arithmetic and
format_int go through float64 and lose the low digits of a 128-bit serial,
so the revoked serials are decimal strings compared with sprintf's output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

PACKAGE = "pacs.edge"
# What each edge passes to --allow-query. roles/pacs_task's filter
# (pacs_task_definition.py) writes the same two strings: role filter plugins
# cannot import this file, and tests/unit/test_pacs_edge_policy.py checks
# that both agree.
QUERIES = {"storage": f"data.{PACKAGE}.storage", "query": f"data.{PACKAGE}.query"}

_LISTS = (("storage", "storage_identities"), ("query", "query_identities"), ("revoked_serials", "revoked_serials"))
_KEYS = tuple(key for key, _ in _LISTS)
_DECIMAL = re.compile(r"^[0-9]+$")

_TEMPLATE = """\
# The DIMSE edges' admission policy (ghostunnel --allow-policy), rendered by
# the filter pacs_edge_policy (filter_plugins/pacs_edge_policy.py) and applied
# with SIGHUP: a hand edit is replaced by the next run.
package {package}

import future.keywords.if
import future.keywords.in

storage_identities := {storage}
query_identities := {query}
revoked_serials := {revoked_serials}

default storage := false

default query := false

storage if {{
\tinput.certificate.Subject.CommonName in storage_identities
\tnot revoked
}}

query if {{
\tinput.certificate.Subject.CommonName in query_identities
\tnot revoked
}}

# Decimal strings: sprintf keeps every digit of the certificate's serial.
revoked if sprintf("%d", [input.certificate.SerialNumber]) in revoked_serials
"""

_LINE = re.compile(r"^(storage_identities|query_identities|revoked_serials) := (.*)$", re.MULTILINE)


def _serial(value):
    """The canonical decimal string of a serial (None when it is not one):
    leading zeros would never equal sprintf's output, so they go."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and _DECIMAL.match(value):
        return str(int(value))
    return None


def _kind(value):
    """What a value is, in the inventory's words (Ansible hands over its own subclasses of list and dict)."""
    if isinstance(value, str | bytes):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return "null" if value is None else type(value).__name__


def pacs_edge_policy_problems(edge):
    """Messages naming what is wrong with `edge` (empty list: it renders)."""
    if not isinstance(edge, Mapping):
        return [f"the edge policy's input must be a mapping with {', '.join(_KEYS)} (got {_kind(edge)})"]
    problems = []
    unknown = sorted(str(k) for k in edge if k not in _KEYS)
    if unknown:
        problems.append(f"the edge policy's input has unknown keys {', '.join(unknown)} (known: {', '.join(_KEYS)})")
    for key in ("storage", "query"):
        if key not in edge:
            problems.append(f"the edge policy's input needs {key} (the identities that port lets in; [] for none)")
            continue
        values = edge[key]
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            problems.append(f"edge policy {key} must be a list of certificate CNs (got {_kind(values)})")
            continue
        for value in values:
            if not isinstance(value, str) or not value:
                problems.append(f"edge policy {key} holds {value!r}: a CN is a non-empty string")
    serials = edge.get("revoked_serials", [])
    if isinstance(serials, str | bytes) or not isinstance(serials, Sequence):
        problems.append(f"edge policy revoked_serials must be a list of decimal strings (got {_kind(serials)})")
    else:
        for value in serials:
            if _serial(value) is None:
                problems.append(
                    f"edge policy revoked_serials holds {value!r}: a serial is a non-negative decimal string "
                    "(a hex serial converts with the filter int(base=16))"
                )
    return problems


def _normalised(edge):
    problems = pacs_edge_policy_problems(edge)
    if problems:
        raise ValueError("; ".join(problems))
    return {
        "storage": sorted({str(cn) for cn in edge["storage"]}),
        "query": sorted({str(cn) for cn in edge["query"]}),
        "revoked_serials": sorted({_serial(s) for s in edge.get("revoked_serials", [])}, key=int),
    }


def pacs_edge_policy(edge):
    """The rego text of `edge` (see the module's docstring)."""
    normal = _normalised(edge)
    # ensure_ascii: the file stays ASCII whatever the CNs hold (\\uXXXX escapes).
    return _TEMPLATE.format(package=PACKAGE, **{key: json.dumps(normal[key]) for key in _KEYS})


def pacs_edge_policy_parse(text):
    """The edge dict a text rendered by pacs_edge_policy holds. The text must
    be exactly what rendering that dict gives (trailing newlines aside): a
    hand-edited or foreign policy could mean something the lists do not say,
    so it is refused rather than half-read."""
    if not isinstance(text, str):
        raise ValueError(f"pacs_edge_policy_parse needs the policy's text (got {_kind(text)})")
    found = {}
    for name, value in _LINE.findall(text):
        if name in found:
            raise ValueError(f"the edge policy defines {name} twice: not one rendered by pacs_edge_policy")
        try:
            found[name] = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"the edge policy's {name} is not a JSON array on one line ({exc})") from exc
    missing = [name for _, name in _LISTS if name not in found]
    if missing:
        raise ValueError(
            f"not an edge policy rendered by pacs_edge_policy: no {', '.join(missing)} line "
            f"(the text starts {text[:60]!r})"
        )
    edge = {key: found[name] for key, name in _LISTS}
    try:
        expected = pacs_edge_policy(edge)
    except ValueError as exc:
        raise ValueError(f"the edge policy's lists are not valid: {exc}") from exc
    if expected.rstrip("\n") != text.rstrip("\n"):
        wanted, got = expected.rstrip("\n").split("\n"), text.rstrip("\n").split("\n")
        line = next((n for n, (a, b) in enumerate(zip(wanted, got, strict=False), 1) if a != b), None)
        if line is None:
            line = min(len(wanted), len(got)) + 1
        seen = got[line - 1] if line <= len(got) else "<end of text>"
        raise ValueError(
            f"the edge policy is not as pacs_edge_policy renders its lists (hand-edited, or another version): "
            f"line {line} is {seen!r}, expected {wanted[line - 1] if line <= len(wanted) else '<end of text>'!r}"
        )
    return _normalised(edge)


class FilterModule:
    def filters(self):
        return {
            "pacs_edge_policy": pacs_edge_policy,
            "pacs_edge_policy_parse": pacs_edge_policy_parse,
            "pacs_edge_policy_problems": pacs_edge_policy_problems,
        }

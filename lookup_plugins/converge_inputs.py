# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: converge_inputs
short_description: Digest of everything a role is given, for the converge_stamp module
description:
  - For each role folder given, the value of every option its C(meta/argument_specs.yml) declares (as the
    calling task sees it, from the inventory, extra vars, include vars or the role's defaults), and the content of
    every file in the folder.
  - Also the project's C(library/), C(module_utils/), C(filter_plugins/), C(action_plugins/) and
    C(lookup_plugins/) (the code the roles call), the version of ansible-core, and O(extra) (what the role
    reads from elsewhere, such as a secret).
  - Returns one SHA-256 hex digest; no value is ever returned or shown.
  - A role that reads a variable its argument spec does not declare would not see it change here; the
    argument spec is the role's list of inputs.
options:
  _terms:
    description: Role folders (usually C(role_path), and the folders of the roles it includes).
    required: true
  files:
    description:
      - Controller files and folders (walked recursively) the role copies or builds from, whose content is
        an input as much as their path (a rebuilt binary, say). A missing one is an error.
    type: list
    elements: path
    default: []
  extra:
    description: Anything else the converge depends on (a digest of a secret, say).
    type: raw
    default: null
"""

EXAMPLES = r"""
- name: Compare with the last converge
  converge_stamp:
    path: /var/lib/pacs-converge/dicom_client.json
    inputs_digest: "{{ lookup('converge_inputs', role_path, role_path ~ '/../dicom_host_common') }}"
"""

RETURN = r"""
_raw:
  description: One SHA-256 hex digest.
  type: list
  elements: str
"""

import hashlib
import json
from pathlib import Path

import yaml
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.release import __version__ as ANSIBLE_VERSION

PROJECT = Path(__file__).resolve().parent.parent
PROJECT_CODE = ("library", "module_utils", "filter_plugins", "action_plugins", "lookup_plugins")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}


def folder_lines(folder: Path, label: str):
    """One line per file under folder: its path relative to the folder and the digest of its content."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIPPED_PARTS.intersection(path.parts) and path.suffix != ".pyc":
            yield f"{label}/{path.relative_to(folder)} {hashlib.sha256(path.read_bytes()).hexdigest()}"


def argument_names(role: Path) -> list[str]:
    """Every option of every entry point of the role's argument spec."""
    spec_file = role / "meta" / "argument_specs.yml"
    if not spec_file.is_file():
        raise AnsibleError(f"converge_inputs: {spec_file} is missing: a role's argument spec lists its inputs")
    specs = (yaml.safe_load(spec_file.read_text()) or {}).get("argument_specs", {})
    return sorted({name for entry in specs.values() for name in (entry or {}).get("options", {})})


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        digest = hashlib.sha256()

        def add(line: str) -> None:
            digest.update(line.encode("utf-8", "surrogateescape"))
            digest.update(b"\n")

        add(f"ansible-core {ANSIBLE_VERSION}")
        for name in PROJECT_CODE:
            for line in folder_lines(PROJECT / name, name):
                add(line)
        for term in terms:
            role = Path(str(term)).resolve()
            if not role.is_dir():
                raise AnsibleError(f"converge_inputs: role folder {term} does not exist")
            for line in folder_lines(role, role.name):
                add(line)
            for name in argument_names(role):
                add(f"{role.name} {name}={self._value(variables, name)}")
        for name in self.get_option("files"):
            path = Path(name)
            if path.is_file():
                add(f"file {path} {hashlib.sha256(path.read_bytes()).hexdigest()}")
            elif path.is_dir():
                for line in folder_lines(path, str(path)):
                    add(line)
            else:
                raise AnsibleError(f"converge_inputs: {name} (files) does not exist")
        add("extra " + json.dumps(self.get_option("extra"), sort_keys=True, default=str))
        return [digest.hexdigest()]

    def _value(self, variables, name):
        """The variable as JSON after templating, or a marker when it is not set."""
        if name not in variables:
            return "<not set>"
        try:
            value = self._templar.template(variables[name])
        except AnsibleError as error:
            # An argument that cannot be templated yet (it refers to something not set) is an input
            # like any other: its text stands for it.
            return f"<untemplatable {type(error).__name__}: {variables[name]!r}>"
        return json.dumps(value, sort_keys=True, default=str)

"""Load one of the project's plugin files (a role's filters, a callback) as a plain Python module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_plugin(path: str, name: str) -> ModuleType:
    """The file at PATH (relative to the repository) as a module called NAME."""
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_role_filter(role: str, name: str) -> ModuleType:
    """roles/ROLE/filter_plugins/NAME.py."""
    return load_plugin(f"roles/{role}/filter_plugins/{name}.py", name)

"""`${VAR}` substitution anywhere inside a string value of the parsed YAML tree.

Substitution happens after parsing, so a variable's value is always text inside one value (it can never
add keys or change the YAML structure); pydantic then converts `"9000"` or `"true"` where a number or a
boolean is expected. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plex_cdf.config.errors import ConfigError, Loc, format_path

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def substitute(tree: Any, environ: Mapping[str, str], where: str) -> Any:
    """A copy of the tree with every `${VAR}` in its strings replaced; `where` prefixes error messages."""
    return _walk(tree, environ, where, ())


def _walk(node: Any, environ: Mapping[str, str], where: str, loc: Loc) -> Any:
    if isinstance(node, dict):
        return {key: _walk(value, environ, where, (*loc, str(key))) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, environ, where, (*loc, index)) for index, value in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        return _expand(node, environ, f"{where}{format_path(loc)}")
    return node


def _expand(text: str, environ: Mapping[str, str], path: str) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        name = match.group(1)
        if name is None:
            raise ConfigError(f"{path}: unclosed ${{ (write $${{ for a literal ${{)")
        if not _NAME.match(name):
            raise ConfigError(f"{path}: ${{{name}}} is not a valid environment variable name")
        if name not in environ:
            raise ConfigError(f"{path}: environment variable {name} is not defined")
        return environ[name]

    return _REFERENCE.sub(replace, text)

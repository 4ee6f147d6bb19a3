"""Loading: the YAML file (or the predecessor's environment variables), `.env`, `${VAR}`, validation.

The real environment wins over `.env`: a value a service manager, container or shell sets on purpose for
this process must not be silently replaced by a file lying in the working directory (extractor-utils
lets `.env` override; that is how a stale file leaks development credentials into production).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from dotenv import dotenv_values
from pydantic import ValidationError

from plex_cdf.config.envsub import substitute
from plex_cdf.config.errors import ConfigError, first_error_line
from plex_cdf.config.legacy import LEGACY_NAMES, legacy_error_line, legacy_tree, uses_legacy
from plex_cdf.config.masking import mask_secrets, secrets_in_tree
from plex_cdf.config.models import Config, RemoteConfig

M = TypeVar("M", Config, RemoteConfig)


def load_config(
    path: Path | None,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
) -> Config:
    """The validated configuration from a YAML file, or from legacy environment variables when `path` is
    None. `environ` defaults to the process environment; `dotenv` (if the file exists) fills in variables
    the environment lacks. Raises ConfigError with a one-line, path-qualified message."""
    variables = merged_environment(os.environ if environ is None else environ, dotenv)
    if path is None:
        return _from_legacy(variables)
    tree = substitute(read_yaml(path), variables, where=f"{path}: ")
    try:
        return Config.model_validate(tree)
    except ValidationError as error:
        line = first_error_line(error, Config, where=f"{path}: ")
        raise ConfigError(mask_secrets(line, secrets_in_tree(tree))) from None


def load_config_file(
    path: Path,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
) -> Config | RemoteConfig:
    """A local configuration, or a `type: remote` one (the CDF connection only) whose configuration text
    `config_from_revision` turns into a Config once fetched from the extraction pipeline."""
    variables = merged_environment(os.environ if environ is None else environ, dotenv)
    tree = substitute(read_yaml(path), variables, where=f"{path}: ")
    if tree.get("type") != "remote":
        return _validated(Config, tree, f"{path}: ")
    return _validated(RemoteConfig, tree, f"{path}: ")


def config_from_revision(
    text: str,
    local: RemoteConfig,
    where: str,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
) -> Config:
    """The configuration a pipeline's revision holds, `${VAR}` filled from this machine's environment and
    the local file's `cognite` keys put over the revision's (they say how this process reaches CDF)."""
    variables = merged_environment(os.environ if environ is None else environ, dotenv)
    tree = substitute(parse_yaml(text, where), variables, where=where)
    tree.pop("type", None)
    cognite = local.cognite.model_dump(by_alias=True, exclude_unset=True)
    cognite["idp-authentication"]["secret"] = local.cognite.idp_authentication.secret.get_secret_value()
    remote_cognite = tree.get("cognite")
    tree["cognite"] = {**(remote_cognite if isinstance(remote_cognite, dict) else {}), **cognite}
    return _validated(Config, tree, where)


def _validated(model: type[M], tree: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(tree)
    except ValidationError as error:
        line = first_error_line(error, model, where=where)
        raise ConfigError(mask_secrets(line, secrets_in_tree(tree))) from None


def merged_environment(environ: Mapping[str, str], dotenv: Path | None) -> dict[str, str]:
    """`.env` values under the real environment's (the environment wins)."""
    from_file: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        from_file = {key: value for key, value in dotenv_values(dotenv).items() if value is not None}
    return {**from_file, **environ}


def _from_legacy(variables: Mapping[str, str]) -> Config:
    if not uses_legacy(variables):
        shown = ", ".join(LEGACY_NAMES[:4])
        raise ConfigError(
            f"no config file given and none of the predecessor's environment variables ({shown}, ...) is set;"
            " pass a config file"
        )
    tree = legacy_tree(variables)
    try:
        return Config.model_validate(tree)
    except ValidationError as error:
        raise ConfigError(mask_secrets(legacy_error_line(error, variables), secrets_in_tree(tree))) from None


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last one silently) and
    keys that are not text (every key of the configuration is a word)."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} on line {line} is not text")
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r} on line {line}")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


# Values the document holds once aliases are expanded. A real configuration has a few hundred; an alias
# bomb ("billion laughs") has billions, which substitution and validation would walk one by one.
MAX_EXPANDED_NODES = 100_000


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; ConfigError naming the file (and line) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start});"
            " fix: save the file as UTF-8"
        ) from None
    return parse_yaml(text, f"{path}: ")


def parse_yaml(text: str, where: str) -> dict[str, Any]:
    """A configuration text's top-level mapping; ConfigError starting with `where` otherwise."""
    try:
        tree = _load_bounded(text, where)
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}{_yaml_problem(error)}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{where}expected a mapping of sections (cognite, plex, ...) at the top level")
    return tree


def _load_bounded(text: str, where: str) -> Any:
    """Safe YAML (a SafeLoader subclass: no arbitrary objects) whose aliases expand to at most
    MAX_EXPANDED_NODES values, checked on the node graph before anything is built from it."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"{where}its aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?);"
                " fix: write the values out or use fewer nested aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, seen: dict[int, int]) -> int:
    """How many values the node stands for with every alias written out (each shared node counted once
    per use, computed once)."""
    known = seen.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, seen) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, seen) + _expanded_size(v, seen) for k, v in node.value)
    seen[id(node)] = size = min(size, MAX_EXPANDED_NODES + 1)
    return size


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return f"not valid YAML: {where}{error.problem}"
    return f"not valid YAML: {error}"

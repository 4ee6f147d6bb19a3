"""Configuration: the YAML file in the Cognite extractor conventions (or the predecessor's environment
variables), `${VAR}` substitution, `.env`, strict validation with one-line errors. See
docs/configuration.md."""

from plex_cdf.config.errors import ConfigError
from plex_cdf.config.loader import load_config
from plex_cdf.config.models import (
    CogniteConfig,
    Config,
    DataSetRef,
    DataSourceCredentials,
    DomainSchedule,
    ExtractorConfig,
    FileLog,
    IdpAuthentication,
    LoggerConfig,
    MetricsConfig,
    PlexConfig,
    StateStoreConfig,
    Tenant,
)
from plex_cdf.config.schema import json_schema

__all__ = [
    "CogniteConfig",
    "Config",
    "ConfigError",
    "DataSetRef",
    "DataSourceCredentials",
    "DomainSchedule",
    "ExtractorConfig",
    "FileLog",
    "IdpAuthentication",
    "LoggerConfig",
    "MetricsConfig",
    "PlexConfig",
    "StateStoreConfig",
    "Tenant",
    "json_schema",
    "load_config",
]

"""The configuration file as pydantic models: hyphen-case keys, strict (unknown keys are errors), secrets as
SecretStr so repr, str and model_dump never show them."""

from __future__ import annotations

import base64
import re
from datetime import time, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator

from plex_cdf.config.resources import ConfiguredResource, data_modeling_problems, section_problems
from plex_cdf.config.section import Section, hyphenated
from plex_cdf.config.types import BaseUrl, Duration, LogLevel, OneWord, Pcn
from plex_cdf.domains.resource import DOMAINS, Domain
from plex_cdf.items import DataSetKey
from plex_cdf.plant import WEEKDAYS, PlantTime, Shift
from plex_cdf.plex.settings import datasource_host_url

DEFAULT_CDF_HOST = "https://api.cognitedata.com"
PLEX_CONNECT_URLS = {False: "https://connect.plex.com", True: "https://test.connect.plex.com"}
PLEX_DATASOURCE_URLS = {False: "https://cloud.plex.com", True: "https://test.cloud.plex.com"}
DEFAULT_STATE_PATH = "plex-cdf-state.db"
# Data sets that `setup` creates when the configuration names none for a key; `run` then finds them.
DEFAULT_DATA_SET_EXTERNAL_ID = "plex-cdf-{key}"
# Token URLs of Auth0 tenants (FactoryTalk DataMosaix) want this scope, not the Entra `{host}/.default`.
AUTH0_SCOPES = ("user_impersonation",)


class IdpAuthentication(Section):
    """OAuth client credentials. Without `scopes`: `user_impersonation` for an Auth0 token URL
    (DataMosaix), else `{cognite.host}/.default` (Entra ID)."""

    token_url: BaseUrl
    client_id: str = Field(min_length=1)
    secret: SecretStr
    scopes: list[str] | None = None
    audience: str | None = None
    resource: str | None = None


class ExtractionPipeline(Section):
    external_id: str = Field(min_length=1)
    heartbeat: Duration = timedelta(minutes=10)
    # With `type: remote`: how often the pipeline's configuration is checked for a new revision.
    config_poll: Duration = timedelta(minutes=5)


class DataSetRef(Section):
    """A CDF data set by internal id or by external id (exactly one)."""

    id: int | None = Field(default=None, gt=0)
    external_id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> DataSetRef:
        if (self.id is None) == (self.external_id is None):
            raise ValueError("give exactly one of id or external-id")
        return self


class CogniteConfig(Section):
    host: BaseUrl = DEFAULT_CDF_HOST
    project: OneWord = Field(min_length=1)
    idp_authentication: IdpAuthentication
    extraction_pipeline: ExtractionPipeline | None = None
    # Fallback for every data-set key that `extractor.data-sets` does not name.
    data_set: DataSetRef | None = None
    timeout: Duration = timedelta(seconds=60)  # per CDF request
    max_concurrency: int = Field(default=4, gt=0, le=64)  # concurrent CDF write requests per API

    @model_validator(mode="after")
    def _default_scopes(self) -> CogniteConfig:
        idp = self.idp_authentication
        if idp.scopes is None:
            token_host = urlsplit(idp.token_url).hostname or ""
            auth0 = token_host.endswith(".auth0.com")
            idp.scopes = list(AUTH0_SCOPES) if auth0 else [f"{self.host}/.default"]
        return self


class DataSourceCredentials(Section):
    """A Plex web-service user for the Data Source API (HTTP Basic)."""

    username: str = Field(min_length=1)
    password: SecretStr

    def basic_token(self) -> str:
        """The base64 credential an `Authorization: Basic` header carries; a secret too."""
        raw = f"{self.username}:{self.password.get_secret_value()}".encode()
        return base64.b64encode(raw).decode("ascii")


class ShiftSection(Section):
    """One shift of the plant's calendar: local `HH:MM` start and end (an end at or before the start ends
    the next day) on the days of week it starts."""

    name: str = Field(min_length=1)
    start: str
    end: str
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS))

    @model_validator(mode="after")
    def _times_and_days(self) -> ShiftSection:
        shift_from(self)
        return self


def shift_from(section: ShiftSection) -> Shift:
    """The shift as the plant clock uses it; ValueError naming the bad value."""
    start, end = _clock_time(section.start, "start"), _clock_time(section.end, "end")
    if start == end:
        raise ValueError(f"shift {section.name!r}: start and end are both {section.start}")
    unknown = [day for day in section.days if day.lower() not in WEEKDAYS]
    if unknown or not section.days:
        raise ValueError(f"shift {section.name!r}: days must be among {', '.join(WEEKDAYS)}, got {unknown}")
    return Shift(section.name, start, end, frozenset(WEEKDAYS.index(day.lower()) for day in section.days))


def _clock_time(text: str, key: str) -> time:
    try:
        parsed = time.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{key} is not a local time like 06:00 or 22:30, got {text!r}") from None
    if parsed.tzinfo is not None:
        raise ValueError(f"{key} is a local wall-clock time without a zone, got {text!r}")
    return parsed


class PlantSection(Section):
    """The plant's clock: an IANA time zone (per-day figures are cut at its local midnight; Data Source
    dates sent without a zone are read in it) and an optional shift calendar."""

    time_zone: str = "UTC"
    shifts: list[ShiftSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_zone_and_unique_shifts(self) -> PlantSection:
        zone_of(self.time_zone)
        names = [shift.name for shift in self.shifts]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"shift {twice[0]!r} is named more than once")
        return self

    def plant_time(self) -> PlantTime:
        return PlantTime(zone_of(self.time_zone), tuple(shift_from(s) for s in self.shifts))


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone; ValueError in one line when the name is not one."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: give an IANA name such as America/Detroit") from None


class Tenant(Section):
    """One Plex tenant (PCN): its own external-id prefix `PCN{pcn}_`, state, call budget and Data Source
    host (`datasource-url`, else built from `code`: `https://{code}.on.plex.com`)."""

    pcn: Pcn
    tenant_id: UUID | None = None
    name: str | None = None
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
    datasource_url: BaseUrl | None = None
    data_source: DataSourceCredentials | None = None
    calls_per_minute: int | None = Field(default=None, gt=0)
    plant: PlantSection = Field(default_factory=PlantSection)


class PlexConfig(Section):
    use_test: bool = False
    connect_url: BaseUrl | None = None  # None: production or test Connect URL by `use-test`
    datasource_url: BaseUrl | None = None
    api_key: SecretStr
    api_secret: SecretStr | None = None
    calls_per_minute: int = Field(default=200, gt=0)
    # The most of the budget per-parent and per-record calls (BOMs per part, operations per job, status
    # per workcenter) may hold; lists and history always go first.
    fan_out_share: float = Field(default=0.5, gt=0, le=1)
    # The share of the budget polling per-record rows (workcenter control status) may use on average:
    # N workcenters are polled every N / (share x calls-per-minute) minutes. 0.03 keeps a large plant's
    # steady state within 10 % of the budget (docs/performance.md) with the polls rounded up to passes.
    poll_share: float = Field(default=0.03, gt=0, le=1)
    max_concurrency: int = Field(default=8, gt=0, le=64)
    timeout: Duration = timedelta(seconds=300)  # per read: a 100,000-row body can take tens of seconds
    verify_tls: bool = True
    tenants: list[Tenant] = Field(min_length=1)
    _shared_datasource_url: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _defaults_and_unique_pcns(self) -> PlexConfig:
        self.connect_url = self.connect_url or PLEX_CONNECT_URLS[self.use_test]
        self._shared_datasource_url = self.datasource_url  # given for every tenant, or None
        self.datasource_url = self.datasource_url or PLEX_DATASOURCE_URLS[self.use_test]
        pcns = [tenant.pcn for tenant in self.tenants]
        duplicated = sorted({pcn for pcn in pcns if pcns.count(pcn) > 1})
        if duplicated:
            raise ValueError(f"PCN {duplicated[0]} is listed more than once in tenants")
        return self

    def datasource_url_for(self, tenant: Tenant) -> str:
        """The tenant's Data Source host: its own `datasource-url`, else `plex.datasource-url` when given
        (a proxy, the simulator), else built from its `code` (`https://{code}.on.plex.com`, `.test.` with
        `use-test`), else the shared `cloud.plex.com` host."""
        if tenant.datasource_url:
            return tenant.datasource_url
        if self._shared_datasource_url:
            return self._shared_datasource_url
        return datasource_host_url(tenant.code, test=self.use_test)

    def budget(self, tenant: Tenant) -> int:
        """Plex calls per minute for one tenant (its override, else the shared setting)."""
        return tenant.calls_per_minute or self.calls_per_minute


DEFAULT_INTERVALS: dict[Domain, timedelta] = {
    "master_data": timedelta(hours=24),
    "jobs": timedelta(minutes=5),
    "production": timedelta(minutes=5),
    "inventory": timedelta(minutes=5),
    "quality": timedelta(minutes=5),
    "performance": timedelta(minutes=15),
}


def _defaults_filled_in(schema: dict[str, Any]) -> None:
    """The published schema lists no required keys where a validator fills in per-domain defaults."""
    schema.pop("required", None)


class DomainSchedule(Section):
    """`interval` defaults per domain (see DEFAULT_INTERVALS); the extractor section fills it in."""

    model_config = ConfigDict(json_schema_extra=_defaults_filled_in)

    enabled: bool = True
    interval: Duration


class InventorySchedule(DomainSchedule):
    """The inventory domain's schedule, and how long a vanished container stays in the tree."""

    # A container gone from Plex's active list stays (inactive) this long, then is deleted from CDF.
    container_retention: Duration = timedelta(days=30)


class DataSets(Section):
    master: DataSetRef | None = None
    scheduling: DataSetRef | None = None
    production: DataSetRef | None = None
    inventory: DataSetRef | None = None
    quality: DataSetRef | None = None
    maintenance: DataSetRef | None = None


class ExtractorConfig(Section):
    master_data: DomainSchedule
    jobs: DomainSchedule
    production: DomainSchedule
    inventory: InventorySchedule
    quality: DomainSchedule
    performance: DomainSchedule
    first_run_reach: Duration = timedelta(days=7)
    lookback: Duration | None = None  # None: each resource's own lookback
    dry_run: bool = False
    run_once: bool = False
    raw_copy: bool = False
    # A snapshot that loses more than this share of its records at once is read again before anything is
    # marked inactive or zeroed.
    snapshot_loss_threshold: float = Field(default=0.2, ge=0.0, le=1.0)
    data_sets: DataSets = Field(default_factory=DataSets)

    model_config = ConfigDict(json_schema_extra=_defaults_filled_in)

    @model_validator(mode="before")
    @classmethod
    def _default_schedules(cls, data: Any) -> Any:
        """Fill each domain's interval (and a missing domain section) with its default."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, interval in DEFAULT_INTERVALS.items():
            section = filled.get(hyphenated(name), {})
            if isinstance(section, dict) and "interval" not in section:
                filled[hyphenated(name)] = {**section, "interval": interval}
        return filled

    def domain(self, name: Domain) -> DomainSchedule:
        schedule: DomainSchedule = getattr(self, name)
        return schedule

    def enabled_domains(self) -> tuple[Domain, ...]:
        return tuple(name for name in DOMAINS if self.domain(name).enabled)


class ConsoleLog(Section):
    level: LogLevel = "INFO"
    format: Literal["text", "json"] = "text"


class FileLog(Section):
    """Rotated at UTC midnight; `retention` is the number of daily files kept."""

    path: str = Field(min_length=1)
    level: LogLevel = "INFO"
    format: Literal["text", "json"] = "text"
    retention: int = Field(default=7, ge=1)


class LoggerConfig(Section):
    console: ConsoleLog | None = Field(default_factory=ConsoleLog)
    file: FileLog | None = None


class MetricsServer(Section):
    host: str = "0.0.0.0"
    port: int = Field(default=9000, ge=0, le=65535)


class MetricsConfig(Section):
    server: MetricsServer | None = None


class LocalState(Section):
    path: str = Field(default=DEFAULT_STATE_PATH, min_length=1)


class RawState(Section):
    database: str = Field(min_length=1)
    table: str = Field(min_length=1)


class StateStoreConfig(Section):
    local: LocalState | None = None
    raw: RawState | None = None

    @model_validator(mode="after")
    def _one_backend(self) -> StateStoreConfig:
        if self.local is not None and self.raw is not None:
            raise ValueError("give either local or raw, not both")
        if self.raw is None and self.local is None:
            self.local = LocalState()
        return self


# CDF's rule for a space's identifier, and the names it reserves (DMS API: spaces).
SPACE_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,41}[a-zA-Z0-9]?$")
RESERVED_SPACES = frozenset({"space", "cdf", "dms", "pg3", "shared", "system", "node", "edge"})
DEFAULT_INSTANCE_SPACE = "plex_{pcn}"
DEFAULT_SCHEMA_SPACE = "plex_cdf"


def check_space(space: str) -> str:
    """A space identifier CDF accepts, else a ValueError naming it."""
    if not SPACE_PATTERN.match(space) or space.lower() in RESERVED_SPACES or space.startswith("cdf_"):
        raise ValueError(
            f"{space!r} is not a space CDF accepts: a letter, then up to 42 letters, digits, _ or -,"
            " not ending in _ or -, not reserved (cdf_*, space, node, edge, ...)"
        )
    return space


class Destination(Section):
    """Where items go: `classic` (assets, events, time series; the default and what the predecessor's
    `.env` gets) or `data-modeling` (Core Data Model instances in one instance space per tenant, plex-cdf's
    own containers and views in the schema space)."""

    type: Literal["classic", "data-modeling"] = "classic"
    # `{pcn}` is replaced by each tenant's PCN: one instance space per tenant.
    instance_space: str = Field(default=DEFAULT_INSTANCE_SPACE, min_length=1)
    schema_space: str = Field(default=DEFAULT_SCHEMA_SPACE, min_length=1)

    @model_validator(mode="after")
    def _spaces(self) -> Destination:
        unknown = {name for name in re.findall(r"{([^}]*)}", self.instance_space) if name != "pcn"}
        if unknown:
            raise ValueError(f"instance-space: only {{pcn}} may be filled in, not {{{sorted(unknown)[0]}}}")
        check_space(self.instance_space.replace("{pcn}", "1"))
        check_space(self.schema_space)
        if self.schema_space == self.instance_space:
            raise ValueError("instance-space and schema-space must differ")
        return self

    def instance_space_of(self, pcn: str) -> str:
        return self.instance_space.replace("{pcn}", pcn)

    @property
    def data_modeling(self) -> bool:
        return self.type == "data-modeling"


class Config(Section):
    """The whole configuration of one plex-cdf process."""

    type: Literal["local"] = "local"
    version: Literal[1] = 1
    cognite: CogniteConfig
    plex: PlexConfig
    extractor: ExtractorConfig = Field(default_factory=ExtractorConfig)
    logger: LoggerConfig = Field(default_factory=LoggerConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    state_store: StateStoreConfig = Field(default_factory=StateStoreConfig)
    # Extra resource rows (see config/resources.py and docs/configuration.md#resources).
    resources: list[ConfiguredResource] = Field(default_factory=list)

    @field_validator("resources")
    @classmethod
    def _resources_fit_together(cls, value: list[ConfiguredResource]) -> list[ConfiguredResource]:
        from plex_cdf.domains.registry import ALL

        for problem in section_problems(value, {r.name for r in ALL}):
            raise ValueError(problem)
        return value

    destination: Destination = Field(default_factory=Destination)

    @model_validator(mode="after")
    def _resources_fit_the_destination(self) -> Config:
        if self.destination.data_modeling:
            for problem in data_modeling_problems(self.resources):
                raise ValueError(f"resources: {problem}")
        return self

    @model_validator(mode="after")
    def _one_instance_space_per_tenant(self) -> Config:
        spaces = [self.destination.instance_space_of(tenant.pcn) for tenant in self.plex.tenants]
        if len(set(spaces)) < len(spaces):
            raise ValueError("destination.instance-space: several tenants would share one space; use {pcn}")
        for space in spaces:
            try:
                check_space(space)
            except ValueError as error:
                raise ValueError(f"destination.instance-space: {error}") from None
        return self

    def data_set(self, key: DataSetKey) -> DataSetRef:
        """The data set for a key: `extractor.data-sets`, else `cognite.data-set`, else the one `setup`
        creates (external id `plex-cdf-{key}`)."""
        named: DataSetRef | None = getattr(self.extractor.data_sets, key)
        default = DataSetRef.model_validate({"external-id": DEFAULT_DATA_SET_EXTERNAL_ID.format(key=key)})
        return named or self.cognite.data_set or default

    def secrets(self) -> list[str]:
        """Every secret value (and derived credential, like a Basic token) for the log masking filter."""
        found = [self.cognite.idp_authentication.secret, self.plex.api_key, self.plex.api_secret]
        values = [secret.get_secret_value() for secret in found if secret is not None]
        for tenant in self.plex.tenants:
            if tenant.data_source is not None:
                values += [tenant.data_source.password.get_secret_value(), tenant.data_source.basic_token()]
        return [value for value in values if value]


class RemoteConfig(Section):
    """A `type: remote` file: only the CDF connection; the rest of the configuration is the extraction
    pipeline's configuration revision in CDF (as Cognite's extractors keep it)."""

    type: Literal["remote"]
    version: Literal[1] = 1
    cognite: CogniteConfig

    @model_validator(mode="after")
    def _needs_a_pipeline(self) -> RemoteConfig:
        if self.cognite.extraction_pipeline is None:
            raise ValueError(
                "type: remote needs cognite.extraction-pipeline.external-id (the pipeline whose configuration"
                " to run)"
            )
        return self

    @property
    def pipeline(self) -> ExtractionPipeline:
        assert self.cognite.extraction_pipeline is not None  # checked by the validator
        return self.cognite.extraction_pipeline

"""One-line diagnostics for configuration errors: what Plex refused, whom it concerns, and the likely fix.

Plex answers the same 401 for a bad key, an ungranted tenant and an unsubscribed product; the client tells
them apart with the tenants list (see `PlexClient`), and these functions word the result.
"""

from __future__ import annotations

from plex_cdf.plex.errors import PlexConfigError, key_hint
from plex_cdf.plex.settings import PlexSettings

TENANTS_PATH = "/mdm/v1/tenants"


def tenant_selector(settings: PlexSettings) -> str:
    if settings.customer_id:
        return f"customer id (PCN) {settings.customer_id}"
    if settings.tenant_id:
        return f"tenant id {settings.tenant_id}"
    return "the key's default tenant"


def bad_key(settings: PlexSettings) -> PlexConfigError:
    return PlexConfigError(
        f"Plex rejected the Connect API key {key_hint(settings.api_key)} at {settings.connect_url} "
        f"(401 on {TENANTS_PATH}); fix: set a current consumer key for this host (keys expire about every "
        "31 days, and test and production keys are separate)",
        "bad_key",
    )


def ungranted_tenant(settings: PlexSettings) -> PlexConfigError:
    return PlexConfigError(
        f"Plex API key {key_hint(settings.api_key)} has no access to {tenant_selector(settings)} "
        f"(401 on {TENANTS_PATH} with that tenant, 200 without); fix: correct plex customer_id/tenant_id "
        "or grant the developer-portal app access to that tenant",
        "tenant",
    )


def unsubscribed_product(settings: PlexSettings, path: str) -> PlexConfigError:
    namespace = namespace_of(path)
    return PlexConfigError(
        f"Plex API key {key_hint(settings.api_key)} is not subscribed to the '{namespace}' API product "
        f"(401 on {path} while key and tenant are accepted); fix: subscribe the app to that product in the "
        f"Plex developer portal, or disable the resources under /{namespace}/",
        "product",
    )


def forbidden(settings: PlexSettings, path: str, plex_message: str) -> PlexConfigError:
    return PlexConfigError(
        f"Plex forbids {path} for API key {key_hint(settings.api_key)} on {tenant_selector(settings)} "
        f"(403: {plex_message}); fix: ask the Plex administrator for access, re-authenticating will not help",
        "forbidden",
    )


def ds_credentials(settings: PlexSettings, source_id: int | None) -> PlexConfigError:
    target = f"data source {source_id}" if source_id is not None else "the Data Source API"
    if not settings.ds_username or not settings.ds_password:
        return PlexConfigError(
            f"{target} needs Data Source API credentials; fix: set plex ds_username and ds_password "
            "(a web-service account from Plex Customer Care, separate from the Connect key)",
            "ds_credentials",
        )
    return PlexConfigError(
        f"the Data Source API at {settings.datasource_url} rejected web-service user "
        f"'{settings.ds_username}' (401 on {target}); fix: correct plex ds_username/ds_password "
        "(they are separate from the Connect key)",
        "ds_credentials",
    )


def grant_fix(source_id: int, user: str | None) -> str:
    """What to do about a data source in the tenant's catalogue the web-service user may not call."""
    return (
        f"ask Plex to grant data source {source_id} to the web-service user '{user}' "
        "(Web Service Access By User Account), or disable the resource"
    )


def ds_not_granted(settings: PlexSettings, source_id: int) -> PlexConfigError:
    return PlexConfigError(
        f"web-service user '{settings.ds_username}' is not granted data source {source_id} "
        f"(DATA_SOURCE_ACCESS_DENIED); fix: {grant_fix(source_id, settings.ds_username)}",
        "datasource_grant",
    )


def ds_forbidden(settings: PlexSettings, source_id: int, code: str | None) -> PlexConfigError:
    return PlexConfigError(
        f"the Data Source API refused web-service user '{settings.ds_username}' for data source "
        f"{source_id} ({code or '403'}); fix: ask Plex to enable Data Source API access for this account "
        "and tenant",
        "datasource_access",
    )


def namespace_of(path: str) -> str:
    """The API product a Connect path belongs to: its first segment (`production` for
    `/production/v1/...`)."""
    return path.strip("/").split("/", 1)[0]

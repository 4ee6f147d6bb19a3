"""CDF client settings: any OAuth client-credentials provider, safe URLs, the secret never shown."""

from __future__ import annotations

import pytest

from plex_cdf.cdf.client import CdfSettings, CdfSettingsError, build_client
from plex_cdf.cdf.pipeline import fit_message

SECRET = "s3cr3t-value"


def settings(**overrides: object) -> CdfSettings:
    values: dict[str, object] = {
        "host": "https://westeurope-1.cognitedata.com",
        "project": "plant",
        "token_url": "https://datamosaix-prod.us.auth0.com/oauth/token",
        "client_id": "abc",
        "client_secret": SECRET,
        "scopes": ["user_impersonation"],
        "audience": "https://cognitedata.com",
    }
    values.update(overrides)
    return CdfSettings(**values)  # type: ignore[arg-type]


def test_the_secret_never_appears_in_the_settings_repr() -> None:
    assert SECRET not in repr(settings())


def test_a_plain_http_token_url_to_another_machine_is_refused_without_showing_the_secret() -> None:
    with pytest.raises(CdfSettingsError, match="token_url must use https") as caught:
        settings(token_url="http://idp.example.com/token")
    assert SECRET not in str(caught.value)


def test_plain_http_is_allowed_to_this_machine_for_the_local_cdf() -> None:
    assert settings(host="http://127.0.0.1:8080", token_url="http://localhost:8080/token").host


@pytest.mark.parametrize("field", ["project", "client_id", "client_secret"])
def test_an_empty_required_setting_is_named(field: str) -> None:
    with pytest.raises(CdfSettingsError, match=f"cognite.{field} is empty"):
        settings(**{field: " "})


def test_one_client_per_process_and_settings() -> None:
    first = build_client(settings())
    assert build_client(settings()) is first, "the same settings must reuse the client (and its token)"
    assert build_client(settings(project="other")) is not first
    assert first.config.project == "plant" and first.config.client_name == "plex-cdf"


def test_run_messages_are_cut_to_cdfs_1000_characters() -> None:
    assert len(fit_message("x" * 5000) or "") == 1000
    assert fit_message("short") == "short" and fit_message(None) is None

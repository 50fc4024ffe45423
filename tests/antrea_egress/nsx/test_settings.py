"""Connection settings: the nsxt: keys, the terraform-provider-nsxt environment fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from antrea_egress.nsx.errors import NsxSettingsError
from antrea_egress.nsx.settings import NsxSettings

BASE = {"nsxt:host": "127.0.0.1:8443", "nsxt:username": "admin", "nsxt:password": "pw-1"}


def resolve(config: dict[str, Any], environ: dict[str, str] | None = None) -> NsxSettings:
    return NsxSettings.resolve(config.get, environ or {})


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("127.0.0.1", "https://127.0.0.1"),
        ("127.0.0.1:8443", "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
        ("localhost", "https://localhost"),
        ("[::1]:443", "https://[::1]:443"),
    ],
)
def test_host_forms(host: str, base_url: str) -> None:
    assert resolve({**BASE, "nsxt:host": host}).base_url == base_url


@pytest.mark.parametrize(
    ("host", "complaint"),
    [
        ("http://127.0.0.1", "must use https"),
        ("https://admin:pw@127.0.0.1", "credentials"),
        ("https://127.0.0.1/policy/api", "must be a host"),
        ("127.0.0.1:notaport", "invalid port"),
    ],
)
def test_bad_hosts_name_the_key(host: str, complaint: str) -> None:
    with pytest.raises(NsxSettingsError, match="nsxt:host") as caught:
        resolve({**BASE, "nsxt:host": host})
    assert complaint in str(caught.value)
    assert "pw" not in str(caught.value).replace("pw@", "")  # never echo a password


def test_missing_settings_are_reported_together_with_their_keys_and_env_vars() -> None:
    with pytest.raises(NsxSettingsError) as caught:
        resolve({})
    message = str(caught.value)
    for key, env in [
        ("nsxt:host", "NSXT_MANAGER_HOST"),
        ("nsxt:username", "NSXT_USERNAME"),
        ("nsxt:password", "NSXT_PASSWORD"),
    ]:
        assert key in message
        assert env in message


def test_environment_fallback_like_terraform_provider_nsxt(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = resolve(
        {},
        {
            "NSXT_MANAGER_HOST": "127.0.0.1:9443",
            "NSXT_USERNAME": "svc",
            "NSXT_PASSWORD": "pw-env",
            "NSXT_ALLOW_UNVERIFIED_SSL": "false",
            "NSXT_CA_FILE": str(ca),
        },
    )
    assert settings.base_url == "https://127.0.0.1:9443"
    assert (settings.username, settings.password, settings.ca_file) == ("svc", "pw-env", str(ca))


def test_stack_config_wins_over_environment() -> None:
    settings = resolve(BASE, {"NSXT_MANAGER_HOST": "127.0.0.2", "NSXT_USERNAME": "other"})
    assert (settings.base_url, settings.username) == ("https://127.0.0.1:8443", "admin")


def test_tls_verification_is_on_by_default() -> None:
    settings = resolve(BASE)
    assert settings.verify_tls is True
    assert settings.ssl_context() is not False


@pytest.mark.parametrize(("value", "verify"), [(True, False), ("true", False), ("false", True)])
def test_allow_unverified_ssl(value: object, verify: bool) -> None:
    assert resolve({**BASE, "nsxt:allowUnverifiedSsl": value}).verify_tls is verify


def test_bad_boolean_and_missing_ca_file_name_their_keys() -> None:
    with pytest.raises(NsxSettingsError) as caught:
        resolve({**BASE, "nsxt:sessionAuth": "maybe", "nsxt:caFile": "/nonexistent/ca.pem"})
    assert "nsxt:sessionAuth" in str(caught.value)
    assert "nsxt:caFile" in str(caught.value)


def test_password_is_not_in_repr() -> None:
    assert "pw-1" not in repr(resolve(BASE))


@pytest.mark.parametrize("value", ["yes", "1", "on", "True", " true"])
def test_booleans_are_true_or_false_in_the_stack_config(value: str) -> None:
    with pytest.raises(NsxSettingsError) as caught:
        resolve({**BASE, "nsxt:allowUnverifiedSsl": value})
    assert f"nsxt:allowUnverifiedSsl: must be true or false, got {value!r}" in str(caught.value)


@pytest.mark.parametrize("value", ["yes", "1", "on"])
def test_booleans_are_true_or_false_in_the_environment_too_naming_the_variable(
    value: str,
) -> None:
    with pytest.raises(NsxSettingsError) as caught:
        resolve(BASE, {"NSXT_ALLOW_UNVERIFIED_SSL": value})
    assert f"NSXT_ALLOW_UNVERIFIED_SSL: must be true or false, got {value!r}" in str(caught.value)


def test_an_empty_environment_variable_is_unset_as_for_terraform_provider_nsxt() -> None:
    # terraform-plugin-sdk's schema.EnvDefaultFunc returns the default for "".
    settings = resolve(BASE, {"NSXT_ALLOW_UNVERIFIED_SSL": "", "NSXT_CA_FILE": ""})
    assert (settings.verify_tls, settings.ca_file) == (True, None)
    assert resolve(BASE, {"NSXT_ALLOW_UNVERIFIED_SSL": "true"}).verify_tls is False

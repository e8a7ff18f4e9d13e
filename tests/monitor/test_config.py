"""The monitor's TOML configuration: the contract's example, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from mxtls.errors import ConfigError
from mxtls.monitor.config import load_config, parse_config, parse_duration

CONTRACT_EXAMPLE = """
[defaults]
interval = "6h"
nameserver = ["192.0.2.53"]
warn_days = 21

[[domain]]
name = "example.com"
interval = "1h"

[[webhook]]
url = "https://hooks.example.net/mxtls?token=abc"
secret = "env:MXTLS_WEBHOOK_SECRET"

[[email]]
to = ["postmaster@example.com"]
smtp = "smtp.example.com:587"
username = "env:SMTP_USER"
password = "env:SMTP_PASSWORD"

[monitor]
retention = "90d"
"""
ENV = {"MXTLS_WEBHOOK_SECRET": "hush", "SMTP_USER": "u", "SMTP_PASSWORD": "p"}


def test_the_contract_example(tmp_path: Path) -> None:
    path = tmp_path / "mxtls.toml"
    path.write_text(CONTRACT_EXAMPLE)
    config = load_config(path, env=ENV)
    (domain,) = config.domains
    assert (domain.name, domain.interval_s, domain.warn_days) == ("example.com", 3600, 21)
    assert config.check.nameservers == (("192.0.2.53", 53),)
    (hook,) = config.webhooks
    assert hook.secret.reveal() == "hush" and "hush" not in repr(hook)
    assert hook.label == "https://hooks.example.net/mxtls"  # no query string in logs
    (mail,) = config.emails
    assert (mail.host, mail.port, mail.tls) == ("smtp.example.com", 587, "starttls")
    assert config.settings.retention_s == 90 * 86400


@pytest.mark.parametrize(
    "data, message",
    [
        ({"domain": [{"name": "a.example", "nameserver": ["192.0.2.1"]}]}, "one shared runtime"),
        ({"domain": [{"name": "a.example", "colour": "red"}]}, "unknown key colour"),
        ({"domain": []}, "no \\[\\[domain\\]\\]"),
        ({"domain": [{"name": "a.example"}, {"name": "A.example."}]}, "appears twice"),
        ({"domain": [{"name": "a.example", "interval": "soon"}]}, "duration"),
        (
            {
                "domain": [{"name": "a.example"}],
                "webhook": [{"url": "http://192.0.2.9/", "secret": "x"}],
            },
            "loopback",
        ),
        ({"domain": [{"name": "a.example"}], "webhook": [{"url": "https://h.example/"}]}, "secret"),
        (
            {
                "domain": [{"name": "a.example"}],
                "webhook": [{"url": "https://h/", "secret": "env:NOPE"}],
            },
            "NOPE is not set",
        ),
        (
            {
                "domain": [{"name": "a.example"}],
                "email": [{"to": "a@b", "smtp": "h:587", "username": "u", "password": "literal"}],
            },
            "env:NAME",
        ),
    ],
)
def test_refusals_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data, base_dir=Path("."), env={})


def test_durations() -> None:
    assert [parse_duration(v, "x") for v in ("30s", "15m", "6h", "90d", 5)] == [
        30,
        900,
        21600,
        90 * 86400,
        5,
    ]
    for bad in ("", "6", "h", "-1h", True, "0s"):
        with pytest.raises(ConfigError):
            parse_duration(bad, "x")


def test_domain_names_are_stored_as_reports_carry_them() -> None:
    config = parse_config({"domain": [{"name": "Bücher.Example."}]}, base_dir=Path("."), env={})
    assert config.domains[0].name == "xn--bcher-kva.example"
    with pytest.raises(ConfigError, match="'192.0.2.1'"):
        parse_config({"domain": [{"name": "192.0.2.1"}]}, base_dir=Path("."), env={})

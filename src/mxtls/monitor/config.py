"""The monitor's TOML configuration (format: docs/monitoring.md, contract: findings.md).

``[defaults]`` takes any run option of ``mxtls check`` by its long name with
``_`` for ``-``, plus ``interval``; ``[[domain]]`` overrides the per-check
ones (``interval``, ``ports``, ``deep``, ``warn_days``, ``fail_on``).  The
options that shape the one shared runtime (resolver, trust store, timeouts,
connection limits) apply to every domain and are refused under a domain.
``[monitor]`` holds the service's own settings; ``[[webhook]]`` and
``[[email]]`` the alert channels.  Secrets are ``env:NAME`` references (or,
for a webhook secret, a literal) and never printed: :class:`Secret`.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mxtls.cli.options import build_config, parse_port_map, parse_ports
from mxtls.config import CheckConfig
from mxtls.engine.plan import normalize_domain
from mxtls.errors import ConfigError, InvalidDomain
from mxtls.models.findings import Severity
from mxtls.monitor.diff import EVENT_TYPES
from mxtls.monitor.flapping import DEFAULT_CONFIRM_ROUNDS

MAX_CONFIG_BYTES = 1024 * 1024
DEFAULT_INTERVAL_S = 6 * 3600.0
MIN_INTERVAL_S = 1.0
DEFAULT_RETENTION_S = 90 * 86400.0
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# Options of `check` that shape the shared runtime: [defaults] only.
RUNTIME_OPTIONS = frozenset(
    {
        "nameserver",
        "ca_file",
        "timeout",
        "ehlo_name",
        "max_conns",
        "dnssec_validate",
        "trust_anchor",
        "port_map",
    }
)
CHECK_OPTIONS = frozenset({"interval", "ports", "deep", "warn_days", "fail_on"})
MONITOR_KEYS = frozenset(
    {
        "db",
        "retention",
        "max_checks",
        "jitter",
        "confirm_rounds",
        "audit_log",
        "metrics_port",
        "metrics_host",
    }
)
WEBHOOK_KEYS = frozenset({"url", "secret", "events", "timeout", "max_attempts"})
EMAIL_KEYS = frozenset(
    {"to", "smtp", "from", "tls", "username", "password", "ca_file", "events", "timeout"}
)


class Secret:
    """A secret value that never shows itself in ``str``, ``repr`` or logs."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source  # "env:NAME" or "literal": safe to print

    def reveal(self) -> str:
        """The value, for the one place that uses it (signing, SMTP AUTH)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class DomainSpec:
    """One monitored domain and its per-check settings."""

    name: str
    interval_s: float
    ports: tuple[int, ...]
    deep: bool
    warn_days: int
    fail_on: Severity


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """One ``[[webhook]]``: where to POST, the signing secret, which event types."""

    url: str
    label: str  # the URL to show in logs and the delivery log (no query, no userinfo)
    secret: Secret
    events: frozenset[str] | None  # None: all
    timeout_s: float = 10.0
    max_attempts: int = 5


@dataclass(frozen=True, slots=True)
class EmailSpec:
    """One ``[[email]]``: recipients and the submission server to send through."""

    to: tuple[str, ...]
    host: str
    port: int
    tls: str  # "starttls" | "implicit"
    sender: str
    username: Secret | None
    password: Secret | None
    ca_file: Path | None
    events: frozenset[str] | None
    timeout_s: float = 30.0


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """``[monitor]``: the service's own settings."""

    db: str | None = None
    retention_s: float = DEFAULT_RETENTION_S
    max_checks: int = 4
    jitter: float = 0.1  # fraction of the interval a start is spread over
    confirm_rounds: int = DEFAULT_CONFIRM_ROUNDS
    audit_log: Path | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """The whole configuration: the runtime's check config, domains, channels."""

    check: CheckConfig
    domains: tuple[DomainSpec, ...]
    webhooks: tuple[WebhookSpec, ...] = ()
    emails: tuple[EmailSpec, ...] = ()
    settings: MonitorSettings = field(default_factory=MonitorSettings)


def parse_duration(value: object, what: str) -> float:
    """``"90d"``, ``"6h"``, ``"15m"``, ``"30s"`` or a number of seconds → seconds.

    Raises:
        ConfigError: anything else, or not positive.
    """
    if isinstance(value, bool):
        raise ConfigError(f'{what}: expected a duration like "6h", got {value!r}')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value[-1:] in DURATION_UNITS:
        number = value[:-1].strip()
        try:
            seconds = float(number) * DURATION_UNITS[value[-1]]
        except ValueError:
            raise ConfigError(f'{what}: {value!r} is not a duration like "6h"') from None
    else:
        raise ConfigError(f'{what}: {value!r} is not a duration like "6h" (s, m, h, d)')
    if not seconds > 0:
        raise ConfigError(f"{what}: {value!r} must be positive")
    return seconds


def resolve_secret(value: object, what: str, *, env: Mapping[str, str], literal_ok: bool) -> Secret:
    """``env:NAME`` → the variable's value; a literal only where ``literal_ok``.

    Raises:
        ConfigError: wrong type, unset variable, or a literal where it is refused.
    """
    if not isinstance(value, str) or not value:
        raise ConfigError(f'{what}: expected "env:NAME"')
    if value.startswith("env:"):
        name = value[4:]
        if not name or name not in env:
            raise ConfigError(f"{what}: environment variable {name or '?'} is not set")
        return Secret(env[name], f"env:{name}")
    if not literal_ok:
        raise ConfigError(f'{what}: give it as "env:NAME" (credentials come from the environment)')
    return Secret(value, "literal")


def load_config(path: Path, *, env: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read and validate the monitor configuration at ``path``.

    Raises:
        ConfigError: unreadable file, TOML syntax, or an invalid value (the
            message names the table and key).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--config {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"--config {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--config {path}: {exc}") from None
    return parse_config(data, base_dir=path.parent, env=os.environ if env is None else env)


def parse_config(
    data: Mapping[str, Any], *, base_dir: Path, env: Mapping[str, str]
) -> MonitorConfig:
    """Validate a parsed TOML document (see :func:`load_config`).

    Raises:
        ConfigError: an invalid value.
    """
    _only(data, {"defaults", "domain", "webhook", "email", "monitor"}, "the top level")
    defaults = _table(data.get("defaults", {}), "[defaults]")
    _only(defaults, RUNTIME_OPTIONS | CHECK_OPTIONS, "[defaults]")
    check = _check_config(defaults, base_dir)
    base = _domain_settings(defaults, "[defaults]", None)
    domains = []
    for i, item in enumerate(_array(data.get("domain", []), "[[domain]]")):
        name = item.get("name")
        where = f"[[domain]] {name!r}" if isinstance(name, str) else f"[[domain]] #{i + 1}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: name is required")
        wrong = sorted(set(item) & RUNTIME_OPTIONS)
        if wrong:
            raise ConfigError(
                f"{where}: {', '.join(wrong)} applies to every domain (one shared runtime);"
                " set it in [defaults]"
            )
        _only(item, CHECK_OPTIONS | {"name"}, where)
        try:  # the name as reports and the history carry it (an IDN as its A-label)
            ascii_name = normalize_domain(name)
        except InvalidDomain as exc:
            raise ConfigError(f"{where}: {exc}") from None
        domains.append(_domain_settings(item, where, base, name=ascii_name))
    if not domains:
        raise ConfigError("no [[domain]] to monitor")
    seen: set[str] = set()
    for d in domains:
        if d.name in seen:
            raise ConfigError(f"[[domain]] {d.name!r} appears twice")
        seen.add(d.name)
    webhooks = tuple(
        _webhook(item, f"[[webhook]] #{i + 1}", env)
        for i, item in enumerate(_array(data.get("webhook", []), "[[webhook]]"))
    )
    emails = tuple(
        _email(item, f"[[email]] #{i + 1}", env, base_dir)
        for i, item in enumerate(_array(data.get("email", []), "[[email]]"))
    )
    settings = _settings(_table(data.get("monitor", {}), "[monitor]"), base_dir, env)
    return MonitorConfig(check, tuple(domains), webhooks, emails, settings)


def _check_config(defaults: Mapping[str, Any], base_dir: Path) -> CheckConfig:
    ns = defaults.get("nameserver", [])
    nameservers = [ns] if isinstance(ns, str) else _strings(ns, "[defaults] nameserver")
    port_map = defaults.get("port_map", [])
    maps = [port_map] if isinstance(port_map, str) else _strings(port_map, "[defaults] port_map")
    config = build_config(
        nameservers=nameservers,
        ca_file=_path(defaults.get("ca_file"), base_dir, "[defaults] ca_file"),
        port_map=parse_port_map(maps),
        timeout=_number(defaults.get("timeout", 10.0), "[defaults] timeout", 0.1, 600),
        ehlo_name=_opt_str(defaults.get("ehlo_name"), "[defaults] ehlo_name"),
        max_conns=int(_number(defaults.get("max_conns", 4), "[defaults] max_conns", 1, 32)),
        dnssec_validate=_bool(defaults.get("dnssec_validate", False), "[defaults] dnssec_validate"),
        trust_anchor=_path(defaults.get("trust_anchor"), base_dir, "[defaults] trust_anchor"),
    )
    return config


def _domain_settings(
    item: Mapping[str, Any], where: str, base: DomainSpec | None, *, name: str = ""
) -> DomainSpec:
    spec = base or DomainSpec(
        name="",
        interval_s=DEFAULT_INTERVAL_S,
        ports=CheckConfig().ports,
        deep=False,
        warn_days=30,
        fail_on=Severity.ERROR,
    )
    changes: dict[str, Any] = {"name": name}
    if "interval" in item:
        interval = parse_duration(item["interval"], f"{where} interval")
        if interval < MIN_INTERVAL_S:
            raise ConfigError(f"{where} interval: at least {MIN_INTERVAL_S:g}s")
        changes["interval_s"] = interval
    if "ports" in item:
        ports = item["ports"]
        text = ",".join(str(p) for p in ports) if isinstance(ports, list) else str(ports)
        changes["ports"] = parse_ports(text)
    if "deep" in item:
        changes["deep"] = _bool(item["deep"], f"{where} deep")
    if "warn_days" in item:
        changes["warn_days"] = int(_number(item["warn_days"], f"{where} warn_days", 0, 3650))
    if "fail_on" in item:
        try:
            changes["fail_on"] = Severity(item["fail_on"])
        except ValueError:
            raise ConfigError(f"{where} fail_on: one of error, warning, info") from None
    return replace(spec, **changes)


def _webhook(item: Mapping[str, Any], where: str, env: Mapping[str, str]) -> WebhookSpec:
    _only(item, WEBHOOK_KEYS, where)
    raw = item.get("url")
    if not isinstance(raw, str) or not raw:
        raise ConfigError(f"{where}: url is required")
    url = resolve_secret(raw, f"{where} url", env=env, literal_ok=True)
    label = url.source if url.source.startswith("env:") else redact_url(url.reveal())
    parts = urlsplit(url.reveal())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{where} url: expected https://HOST/...")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(f"{where} url: plain http only to a loopback address; use https")
    if "secret" not in item:
        raise ConfigError(f"{where}: secret is required (signatures are not optional)")
    return WebhookSpec(
        url=url.reveal(),
        label=label,
        secret=resolve_secret(item["secret"], f"{where} secret", env=env, literal_ok=True),
        events=_events(item.get("events"), where),
        timeout_s=_number(item.get("timeout", 10.0), f"{where} timeout", 0.1, 120),
        max_attempts=int(_number(item.get("max_attempts", 5), f"{where} max_attempts", 1, 20)),
    )


def _email(
    item: Mapping[str, Any], where: str, env: Mapping[str, str], base_dir: Path
) -> EmailSpec:
    _only(item, EMAIL_KEYS, where)
    to = item.get("to")
    recipients = [to] if isinstance(to, str) else _strings(to or [], f"{where} to")
    if not recipients or any("@" not in r for r in recipients):
        raise ConfigError(f"{where} to: one or more addresses")
    smtp = item.get("smtp")
    if not isinstance(smtp, str) or not smtp:
        raise ConfigError(f'{where}: smtp = "HOST:PORT" is required')
    host, _, port_text = smtp.rpartition(":") if ":" in smtp else (smtp, "", "587")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536 or not host:
        raise ConfigError(f"{where} smtp: expected HOST:PORT, got {smtp!r}")
    port = int(port_text)
    tls = item.get("tls", "implicit" if port == 465 else "starttls")
    if tls not in ("starttls", "implicit"):
        raise ConfigError(f"{where} tls: starttls or implicit")
    user, password = item.get("username"), item.get("password")
    if (user is None) != (password is None):
        raise ConfigError(f"{where}: username and password go together")
    sender = item.get("from", f"mxtls@{host.strip('[]')}")
    if not isinstance(sender, str) or "@" not in sender:
        raise ConfigError(f"{where} from: an address")
    return EmailSpec(
        to=tuple(recipients),
        host=host.strip("[]"),
        port=port,
        tls=tls,
        sender=sender,
        username=None
        if user is None
        else resolve_secret(user, f"{where} username", env=env, literal_ok=True),
        password=None
        if password is None
        else resolve_secret(password, f"{where} password", env=env, literal_ok=False),
        ca_file=_path(item.get("ca_file"), base_dir, f"{where} ca_file"),
        events=_events(item.get("events"), where),
        timeout_s=_number(item.get("timeout", 30.0), f"{where} timeout", 0.1, 300),
    )


def _settings(item: Mapping[str, Any], base_dir: Path, env: Mapping[str, str]) -> MonitorSettings:
    _only(item, MONITOR_KEYS, "[monitor]")
    s = MonitorSettings()
    changes: dict[str, Any] = {}
    db = _opt_str(item.get("db"), "[monitor] db")
    if db is not None and db.startswith("env:"):  # a URL with a password in it
        db = resolve_secret(db, "[monitor] db", env=env, literal_ok=False).reveal()
    if db is not None:
        changes["db"] = db
    if "retention" in item:
        changes["retention_s"] = parse_duration(item["retention"], "[monitor] retention")
    if "max_checks" in item:
        changes["max_checks"] = int(_number(item["max_checks"], "[monitor] max_checks", 1, 256))
    if "jitter" in item:
        changes["jitter"] = _number(item["jitter"], "[monitor] jitter", 0, 1)
    if "confirm_rounds" in item:
        changes["confirm_rounds"] = int(
            _number(item["confirm_rounds"], "[monitor] confirm_rounds", 1, 10)
        )
    if "audit_log" in item:
        changes["audit_log"] = _path(
            item["audit_log"], base_dir, "[monitor] audit_log", exists=False
        )
    if "metrics_port" in item:
        changes["metrics_port"] = int(
            _number(item["metrics_port"], "[monitor] metrics_port", 0, 65535)
        )
    if "metrics_host" in item:
        changes["metrics_host"] = _opt_str(item["metrics_host"], "[monitor] metrics_host")
    return replace(s, **changes)


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` without userinfo, query or fragment (for logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _events(value: object, where: str) -> frozenset[str] | None:
    if value is None or value == "all":
        return None
    names = _strings(value, f"{where} events")
    unknown = sorted(set(names) - set(EVENT_TYPES))
    if unknown:
        raise ConfigError(f"{where} events: unknown {', '.join(unknown)}")
    return frozenset(names)


def _only(table: Mapping[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError(f"{where}: unknown key {', '.join(unknown)}")


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _array(value: object, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where} must be an array of tables")
    return value


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return value


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number")
    if not low <= value <= high:
        raise ConfigError(f"{where}: {value} is outside {low:g}..{high:g}")
    return float(value)


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false")
    return value


def _opt_str(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _path(value: object, base_dir: Path, where: str, *, exists: bool = True) -> Path | None:
    text = _opt_str(value, where)
    if text is None:
        return None
    path = Path(text).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if exists and not path.is_file():
        raise ConfigError(f"{where}: {path}: no such file")
    return path

"""The lab's listeners: what each host serves on each logical port, bound on shared ports.

Every lab host listens on the same local port per logical port (25, 465,
587, 143, 993, 110, 995; 443 for the MTA-STS policy hosts), so one
``--port-map`` per logical port reaches them all.  :func:`listener_plan`
says what each (address, logical port) serves: the protocol follows the
port (:func:`mxtls.config.protocol_for_port`), the row's mode says how.
:func:`bind_listeners` binds the plan: the first listener of a logical port
takes port 0, the others reuse its number; when a bind fails, everything is
closed and a new set is tried, :data:`PORT_ATTEMPTS` times at most.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Mapping

from mxtls.config import IMPLICIT_TLS_PORTS, protocol_for_port
from mxtls.lab.ca import Issued
from mxtls.lab.https_server import MTA_STS_PATH, HttpsServer, HttpsSite, policy_response
from mxtls.lab.mailbox_server import MailboxBehaviour, MailboxMode
from mxtls.lab.sasl_server import LabAccount
from mxtls.lab.scenarios import LOGICAL_PORTS
from mxtls.lab.smtp_server import Behaviour, SmtpBehaviour, SmtpMode, SmtpServer
from mxtls.lab.zones import LabHost, PolicyHost

ADDRESS_PREFIX = "127.77"  # every lab host lives in 127.77.0.0/16
PORT_ATTEMPTS = 10  # tries to find a set of port numbers free on every lab address

ListenerPlan = list[tuple[str, int, Behaviour, str]]  # (address, logical port, behaviour, group)


def listener_plan(hosts: Iterable[LabHost], accounts: Mapping[str, LabAccount]) -> ListenerPlan:
    """(address, logical port, behaviour, group) for every listener, in order.

    Raises:
        ValueError: a row gives a port a mode of another protocol (an SMTP mode on 993 …).
    """
    out: ListenerPlan = []
    for host in hosts:
        for i, addr in enumerate(host.addresses):
            for logical, mode in sorted(host.spec.ports.items()):
                behaviour = _behaviour(host, logical, mode, host.certs[i], accounts)
                out.append((listen_address(addr), logical, behaviour, f"{host.name}:{logical}"))
    return out


def _behaviour(
    host: LabHost,
    logical: int,
    mode: SmtpMode | MailboxMode,
    cert: Issued,
    accounts: Mapping[str, LabAccount],
) -> Behaviour:
    """What ``host`` serves on ``logical``: the protocol follows the port (143 IMAP …)."""
    name = host.spec.banner_name or host.name
    protocol = protocol_for_port(logical)
    if isinstance(mode, MailboxMode) and protocol != "smtp":
        return MailboxBehaviour(
            protocol=protocol,
            mode=mode,
            hostname=name,
            cert=cert,
            implicit_tls=logical in IMPLICIT_TLS_PORTS,
        )
    if isinstance(mode, SmtpMode) and protocol == "smtp":
        return SmtpBehaviour(
            mode=mode,
            hostname=name,
            cert=cert,
            nosni_cert=host.nosni_cert,
            second_cert=host.second_cert,
            account=accounts.get(host.domain),
        )
    raise ValueError(f"{host.name}: port {logical} speaks {protocol}, not mode {mode}")


async def bind_listeners(server: SmtpServer, plan: ListenerPlan) -> dict[int, int]:
    """Bind every planned listener; logical port -> the local port all of them share.

    Raises:
        OSError: no set of ports was free on every lab address.
    """
    last_error: OSError | None = None
    for _ in range(PORT_ATTEMPTS):
        chosen: dict[int, int] = {}
        try:
            for addr, logical, behaviour, group in plan:
                listener = await server.listen(addr, chosen.get(logical, 0), behaviour, group=group)
                chosen.setdefault(logical, listener.port)
        except OSError as exc:
            last_error = exc
            await server.close()
            continue
        for logical in LOGICAL_PORTS:
            if logical not in chosen:  # no host listens there: any closed port will do
                chosen[logical] = free_port()
        if len(set(chosen.values())) < len(chosen):  # a stand-in hit a used number
            await server.close()
            continue
        return chosen
    raise OSError("no set of ports is free on every lab address") from last_error


async def bind_policy_hosts(
    https: HttpsServer, policy_hosts: Iterable[PolicyHost], taken: set[int]
) -> int:
    """One HTTPS listener per MTA-STS policy host, all on one local port, not in ``taken``.

    Raises:
        OSError: no port was free on every policy host address.
    """
    hosts = list(policy_hosts)
    for host in hosts:
        response = policy_response(host.spec.serving, host.policy, host.name)
        https.add_site(HttpsSite(host=host.name, cert=host.cert, routes={MTA_STS_PATH: response}))
    last_error: OSError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = 0
        try:
            for host in hosts:
                port = (await https.listen(host.address, port, host.name)).port
                if port in taken:  # keep the logical ports apart
                    raise OSError(f"port {port} is already a lab port")
        except OSError as exc:
            last_error = exc
            await https.close()
            continue
        if not port:  # no policy host: any closed port will do
            port = free_port()
            if port in taken:
                continue
        return port
    raise OSError("no HTTPS port is free on every policy host address") from last_error


def listen_address(address: str) -> str:
    """Where a lab host's ``address`` listens: an IPv4-mapped one on its IPv4 form."""
    mapped = ipaddress.ip_address(address)
    if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped is not None:
        return str(mapped.ipv4_mapped)
    return address


def free_port() -> int:
    """A port number nothing listens on now (a stand-in for a logical port nobody serves)."""
    with contextlib.closing(socket.socket()) as s:
        s.bind((f"{ADDRESS_PREFIX}.0.1", 0))
        port: int = s.getsockname()[1]
        return port

"""The MTA-STS fetch and observation against real loopback DNS and HTTPS servers.

Each test publishes a zone on a lab DNS server, starts a scripted HTTPS
policy host, runs the observer through the run's resolver with
``--port-map 443:LOCAL``, and checks both the recorded facts and the finding
codes a strict sender's view produces.
"""

from __future__ import annotations

import time

import pytest

from mxtls.checks.mta_sts import check_mta_sts
from mxtls.lab.ca import Issued
from mxtls.lab.dns_server import DnsFault
from mxtls.models.findings import Finding
from mxtls.models.policy import MtaStsObservation
from mxtls.net.https import (
    POLICY_READ_LIMIT_BYTES,
    fetch_mta_sts_policy,
    observe_mta_sts,
    policy_url,
)
from mxtls.protocol.mta_sts import MTA_STS_POLICY_MAX_BYTES
from mxtls.trust.store import TrustStore
from tests.bounds import bound

from .policy_servers import (
    DOMAIN,
    MX1,
    MX2,
    POLICY_HOST,
    PolicyServer,
    PolicyWorld,
    http_response,
    policy,
)

STS_TXT = '_mta-sts 300 IN TXT "v=STSv1; id=20240101T000000"\n'
POLICY_A = "mta-sts 300 IN A 127.0.0.1\n"
STANDARD = STS_TXT + POLICY_A


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


async def _observe(
    policy_world: PolicyWorld,
    trust: TrustStore,
    issued: Issued,
    response: bytes,
    *,
    records: str = STANDARD,
    delay_s: float = 0.0,
    timeout: float = 1.0,
) -> tuple[MtaStsObservation, PolicyServer]:
    await policy_world.dns(records)
    server = await policy_world.https(issued, response, delay_s=delay_s)
    config = policy_world.config(server.port, timeout=timeout)
    obs = await observe_mta_sts(DOMAIN, policy_world.resolver(), trust, config)
    return obs, server


async def test_good_enforce_policy(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given a valid record and an enforce policy served with a valid certificate
    body = policy("enforce", mx=(MX1, "*.example.lab"))
    obs, server = await _observe(
        policy_world,
        trust,
        good_cert,
        http_response(body, content_type="text/plain; charset=utf-8"),
    )
    # Then the fetch succeeded as a sender would see it
    assert obs.record == "v=STSv1; id=20240101T000000"
    assert obs.record_id == "20240101T000000"
    assert obs.fetch is not None
    assert obs.fetch.error is None
    assert obs.fetch.status == 200
    assert obs.fetch.url == f"https://{POLICY_HOST}/.well-known/mta-sts.txt"
    assert obs.fetch.connect_port == server.port
    assert obs.fetch.address == "127.0.0.1"
    assert obs.fetch.body_bytes == len(body)
    assert obs.policy_text == body.decode()
    assert (obs.mode, obs.max_age, obs.mx_patterns) == ("enforce", 604800, [MX1, "*.example.lab"])
    assert obs.policy_errors == []
    # And the policy host was asked by name: SNI, Host header and path
    assert server.sni == [POLICY_HOST]
    assert server.request_header("host") == POLICY_HOST
    assert server.requests[0].startswith(b"GET /.well-known/mta-sts.txt HTTP/1.1\r\n")
    # And nothing is wrong with it
    assert check_mta_sts(obs, [MX1, MX2]) == []


async def test_fetch_function_alone(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    await policy_world.dns(POLICY_A)
    server = await policy_world.https(good_cert, http_response(policy()))
    fetch = await fetch_mta_sts_policy(
        DOMAIN, policy_world.resolver(), trust, policy_world.config(server.port)
    )
    assert fetch.error is None
    assert fetch.a is not None and fetch.a.records == ["127.0.0.1"]
    assert fetch.text == policy().decode()
    assert fetch.url == policy_url(DOMAIN)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("testing", {"mta_sts.mode_testing"}), ("none", {"mta_sts.mode_none"})],
)
async def test_testing_and_none_modes(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued, mode: str, expected: set[str]
) -> None:
    mx = () if mode == "none" else ("*.example.lab",)
    obs, _ = await _observe(policy_world, trust, good_cert, http_response(policy(mode, mx=mx)))
    assert obs.mode == mode
    assert codes(check_mta_sts(obs, [MX1])) == expected


async def test_404_is_a_fetch_failure(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(b"not here", status="404 Not Found")
    )
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "status"
    assert obs.fetch.status == 404
    assert obs.mode is None and obs.policy_text is None
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_redirect_is_not_followed(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given a policy host that redirects to a policy on the same server
    location = f"https://{POLICY_HOST}/elsewhere/mta-sts.txt"
    response = http_response(
        policy(), status="301 Moved Permanently", headers=(("Location", location),)
    )
    obs, server = await _observe(policy_world, trust, good_cert, response)
    # Then the redirect is an error naming its target, and no second request was made
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "redirect"
    assert location in obs.fetch.error.detail
    assert obs.fetch.location == location
    assert len(server.requests) == 1
    assert obs.mode is None
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_wrong_media_type_is_an_invalid_policy(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(policy(), content_type="text/html")
    )
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "media_type"
    assert "text/html" in obs.fetch.error.detail
    # The body is still read and parsed, so a report can show all of it
    assert obs.mode == "enforce"
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_invalid"}


async def test_missing_content_type_is_an_invalid_policy(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(policy(), content_type=None)
    )
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "media_type"
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_invalid"}


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "streamed"])
async def test_body_over_64k_is_a_size_failure(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued, content_length: bool
) -> None:
    # Given a policy padded one byte over the bound (declared), or 1 MB ending at close
    size = MTA_STS_POLICY_MAX_BYTES + 1 if content_length else 1024 * 1024
    body = policy() + b"\n" * (size - len(policy()))
    assert len(body) == size
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(body, content_length=content_length)
    )
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "size"
    # At most the bound + 1 is read, whatever the server sends
    assert obs.fetch.body_bytes <= POLICY_READ_LIMIT_BYTES
    if not content_length:
        assert obs.fetch.body_bytes == POLICY_READ_LIMIT_BYTES
    assert obs.mode is None and obs.policy_text is None
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_body_of_exactly_64k_is_accepted(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    body = policy() + b"\n" * (MTA_STS_POLICY_MAX_BYTES - len(policy()))
    assert len(body) == MTA_STS_POLICY_MAX_BYTES
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(body, content_length=False)
    )
    assert obs.fetch is not None
    assert obs.fetch.error is None
    assert obs.fetch.body_bytes == MTA_STS_POLICY_MAX_BYTES
    assert obs.mode == "enforce"


async def test_slow_server_times_out_within_the_bound(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given a server that answers 30 s after the request, and a 0.5 s bound
    started = time.monotonic()
    obs, server = await _observe(
        policy_world, trust, good_cert, http_response(policy()), delay_s=30.0, timeout=0.5
    )
    elapsed = time.monotonic() - started
    assert len(server.requests) == 1  # connected and asked; the answer never came
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "timeout"
    assert "0.5s" in obs.fetch.error.detail
    assert elapsed < bound(0.5), elapsed  # not the server's 30 s
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_wrong_name_certificate_is_rejected(
    policy_world: PolicyWorld, trust: TrustStore, wrong_name_cert: Issued
) -> None:
    obs, server = await _observe(policy_world, trust, wrong_name_cert, http_response(policy()))
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "cert"
    assert "mismatch" in obs.fetch.error.detail.lower()
    assert server.requests == []  # no request is sent over an unverified connection
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_untrusted_ca_is_rejected(
    policy_world: PolicyWorld, trust: TrustStore, untrusted_cert: Issued
) -> None:
    obs, server = await _observe(policy_world, trust, untrusted_cert, http_response(policy()))
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "cert"
    assert server.requests == []
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_non_http_reply_is_a_protocol_failure(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(policy_world, trust, good_cert, b"220 mail.example.lab ESMTP\r\n")
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "protocol"
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_refused_connection(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given a policy host whose port is closed (a server started and stopped)
    await policy_world.dns(STANDARD)
    server = await policy_world.https(good_cert, http_response(policy()))
    await server.stop()
    obs = await observe_mta_sts(
        DOMAIN, policy_world.resolver(), trust, policy_world.config(server.port)
    )
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "connect"
    assert "refused" in obs.fetch.error.detail
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_next_address_is_tried_when_one_refuses(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given two A records; nothing listens on the first address
    await policy_world.dns(STS_TXT + "mta-sts 300 IN A 127.0.0.2\nmta-sts 300 IN A 127.0.0.3\n")
    server = await policy_world.https(good_cert, http_response(policy()), host="127.0.0.3")
    obs = await observe_mta_sts(
        DOMAIN, policy_world.resolver(), trust, policy_world.config(server.port)
    )
    assert obs.fetch is not None
    assert obs.fetch.addresses == ["127.0.0.2", "127.0.0.3"]
    assert obs.fetch.error is None
    assert obs.fetch.address == "127.0.0.3"


async def test_policy_host_without_address(policy_world: PolicyWorld, trust: TrustStore) -> None:
    await policy_world.dns(STS_TXT)
    obs = await observe_mta_sts(DOMAIN, policy_world.resolver(), trust, policy_world.config(9))
    assert obs.fetch is not None and obs.fetch.error is not None
    assert obs.fetch.error.kind == "dns"
    assert "NXDOMAIN" in obs.fetch.error.detail
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_fetch_failed"}


async def test_txt_missing_means_no_fetch(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, server = await _observe(
        policy_world, trust, good_cert, http_response(policy()), records=POLICY_A
    )
    assert obs.txt.status == "NXDOMAIN"
    assert obs.fetch is None
    assert server.sni == []  # the policy host was never contacted
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.missing"}


async def test_two_sts_records_mean_no_fetch(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    records = STANDARD + '_mta-sts 300 IN TXT "v=STSv1; id=2"\n'
    obs, server = await _observe(
        policy_world, trust, good_cert, http_response(policy()), records=records
    )
    assert len(obs.sts_records) == 2
    assert obs.fetch is None and server.sni == []
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.txt_invalid"}


async def test_invalid_txt_means_no_fetch(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    records = '_mta-sts 300 IN TXT "v=STSv1; id=not-valid!"\n' + POLICY_A
    obs, server = await _observe(
        policy_world, trust, good_cert, http_response(policy()), records=records
    )
    assert obs.record == "v=STSv1; id=not-valid!"
    assert obs.record_id is None and obs.record_errors
    assert obs.fetch is None and server.sni == []
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.txt_invalid"}


async def test_split_txt_strings_are_concatenated(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # RFC 7208 §3.3 style: several character-strings form one record, no spaces added
    records = '_mta-sts 300 IN TXT "v=STSv1; " "id=abc" "123"\n' + POLICY_A
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(policy()), records=records
    )
    assert obs.txt_strings == ["v=STSv1; id=abc123"]
    assert obs.record_id == "abc123"
    assert obs.fetch is not None and obs.fetch.error is None


async def test_unrelated_txt_strings_are_ignored(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    records = STANDARD + '_mta-sts 300 IN TXT "some-verification=xyz"\n'
    obs, _ = await _observe(
        policy_world, trust, good_cert, http_response(policy()), records=records
    )
    assert obs.record_id == "20240101T000000"
    assert codes(check_mta_sts(obs, [MX1])) == set()


async def test_policy_missing_an_mx(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(policy_world, trust, good_cert, http_response(policy(mx=(MX1,))))
    findings = check_mta_sts(obs, [MX1, MX2 + "."])
    assert codes(findings) == {"mta_sts.mx_not_covered"}
    assert [f.target for f in findings] == [MX2]


async def test_short_max_age(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    obs, _ = await _observe(policy_world, trust, good_cert, http_response(policy(max_age=3600)))
    assert obs.max_age == 3600
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.max_age_short"}


async def test_unparsable_policy(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    body = b"version: STSv1\r\nmode: enforcing\r\nmx: mx1.example.lab\r\n"
    obs, _ = await _observe(policy_world, trust, good_cert, http_response(body))
    assert obs.fetch is not None and obs.fetch.error is None
    assert obs.mode is None
    assert any("mode" in e for e in obs.policy_errors)
    assert any("max_age" in e for e in obs.policy_errors)
    assert codes(check_mta_sts(obs, [MX1])) == {"mta_sts.policy_invalid"}


async def test_txt_servfail_is_not_missing(policy_world: PolicyWorld, trust: TrustStore) -> None:
    # A failed lookup is dns.error (judged from obs.txt by the DNS check), not "missing"
    await policy_world.dns(STANDARD, faults={f"_mta-sts.{DOMAIN}.": DnsFault.SERVFAIL})
    obs = await observe_mta_sts(DOMAIN, policy_world.resolver(), trust, policy_world.config(9))
    assert obs.txt.status == "SERVFAIL" and obs.txt.failed
    assert obs.fetch is None
    assert check_mta_sts(obs, [MX1]) == []


async def test_ipv6_policy_host(
    policy_world: PolicyWorld, trust: TrustStore, good_cert: Issued
) -> None:
    # Given a policy host with only an AAAA record, served on ::1
    await policy_world.dns(STS_TXT + "mta-sts 300 IN AAAA ::1\n")
    try:
        server = await policy_world.https(good_cert, http_response(policy()), host="::1")
    except OSError as exc:
        pytest.skip(f"IPv6 loopback unavailable here: {exc}")
    obs = await observe_mta_sts(
        DOMAIN, policy_world.resolver(), trust, policy_world.config(server.port)
    )
    assert obs.fetch is not None
    assert obs.fetch.error is None
    assert obs.fetch.address == "::1"
    assert obs.fetch.a is not None and obs.fetch.a.status == "NODATA"
    assert server.sni == [POLICY_HOST]

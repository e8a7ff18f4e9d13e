"""open_channel against the lab: positioned at the TLS start, or a failure as data."""

from __future__ import annotations

from mxtls.config import CheckConfig
from mxtls.lab.world import Lab
from mxtls.net.deep.channel import Channel, ChannelFailure, open_channel
from mxtls.protocol.tls_registry import TlsVersion
from mxtls.protocol.tls_wire import RecordReader, ServerHello, build_client_hello


async def _server_hello(channel: Channel, host: str) -> ServerHello:
    hello = build_client_hello(TlsVersion.TLS1_2, [0xC02B, 0xC02F, 0x009C], server_name=host)
    await channel.stream.send(hello.to_bytes())
    reader = RecordReader()
    for _ in range(50):
        reader.receive_data(await channel.stream.recv(4096))
        event = reader.next_event()
        if isinstance(event, ServerHello):
            return event
    raise AssertionError("no ServerHello")


async def test_starttls_and_implicit_channels_reach_tls(lab: Lab, lab_cfg: CheckConfig) -> None:
    ip = lab.address("mx1.good.lab")
    for port in (25, 465, 587):
        channel = await open_channel(ip, port, lab_cfg)
        assert isinstance(channel, Channel), channel
        try:
            assert channel.leftover == b""
            hello = await _server_hello(channel, "mx1.good.lab")
            assert hello.cipher_suite in (0xC02B, 0xC02F, 0x009C)
        finally:
            await channel.aclose()


async def test_failures_are_data(lab: Lab, lab_cfg: CheckConfig) -> None:
    cases = {
        "mx.nostarttls.lab": "starttls_absent",
        "mx.starttls454.lab": "starttls_refused",
        "mx.ratelimited.lab": "throttled",
        "mx.banner554.lab": "banner",
    }
    for host, kind in cases.items():
        result = await open_channel(lab.address(host), 25, lab_cfg)
        assert isinstance(result, ChannelFailure), host
        assert result.kind == kind, (host, result)

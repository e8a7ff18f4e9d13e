"""TXT presentation-form handling and the one exception-to-data mapping of the fetch."""

from __future__ import annotations

import errno
import ssl

import h11
import pytest

from mxtls.net.guard import Refused
from mxtls.net.https import classify_fetch_error, policy_host, policy_url, txt_record_text


@pytest.mark.parametrize(
    ("presentation", "text"),
    [
        ('"v=STSv1; id=1"', "v=STSv1; id=1"),
        ('"v=STSv1; " "id=1"', "v=STSv1; id=1"),  # concatenated without spaces
        ('"v=STSv1;" " id=1"', "v=STSv1; id=1"),
        ('"say \\"hi\\""', 'say "hi"'),  # escaped quote
        ('"v=STSv1\\059 id=1"', "v=STSv1; id=1"),  # \DDD decimal escape
        ('""', ""),
    ],
)
def test_txt_record_text(presentation: str, text: str) -> None:
    assert txt_record_text(presentation) == text


def test_txt_record_text_replaces_non_utf8() -> None:
    assert txt_record_text('"id=\\255"') == "id=\ufffd"


def test_policy_names_are_normalised() -> None:
    assert policy_host("Example.COM.") == "mta-sts.example.com"
    assert policy_url("example.com") == "https://mta-sts.example.com/.well-known/mta-sts.txt"


def _raised_from(outer: BaseException, cause: BaseException) -> BaseException:
    """``outer`` as it is seen after ``raise outer from cause`` (a real raise, not a mock)."""
    try:
        try:
            raise cause
        except BaseException as inner:
            raise outer from inner
    except BaseException as caught:
        return caught


def test_classify_timeouts() -> None:
    connect = classify_fetch_error(TimeoutError(), 2.0, "connect")
    assert (connect.kind, connect.detail) == ("timeout", "no connect and TLS handshake within 2s")
    read = classify_fetch_error(TimeoutError(), 2.0)
    assert (read.kind, read.detail) == ("timeout", "no complete response within 2s")


def test_classify_tls_and_cert() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    cert = classify_fetch_error(verify, 1.0, "connect")
    assert cert.kind == "cert"
    assert "local issuer" in cert.detail
    alert = ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] alert")
    assert classify_fetch_error(alert, 1.0, "connect").kind == "tls"
    # a TLS failure after the handshake (a bad record) is still a TLS failure
    assert classify_fetch_error(_raised_from(OSError("lost"), alert), 1.0).kind == "tls"


def test_classify_connect_prefers_the_errno() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    wrapper = _raised_from(OSError("All connection attempts failed"), refused)
    error = classify_fetch_error(wrapper, 1.0, "connect")
    assert error.kind == "connect"
    assert error.detail.startswith("refused:")
    reset = classify_fetch_error(ConnectionResetError(errno.ECONNRESET, "reset"), 1.0)
    assert (reset.kind, reset.detail.split(":")[0]) == ("connect", "connection lost")


def test_classify_refusal_by_the_address_policy() -> None:
    error = classify_fetch_error(Refused("127.0.0.1 is loopback"), 1.0, "connect")
    assert (error.kind, error.detail) == ("connect", "not connected: 127.0.0.1 is loopback")


def test_classify_protocol_and_bugs() -> None:
    assert classify_fetch_error(h11.RemoteProtocolError("bad"), 1.0).kind == "protocol"
    with pytest.raises(KeyError):
        classify_fetch_error(KeyError("a bug is not data"), 1.0)

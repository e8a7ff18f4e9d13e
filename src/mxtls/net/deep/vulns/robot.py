"""ROBOT: does the server's answer to an RSA key exchange depend on the padding?

Method (Böck, Somorovsky, Young, "Return Of Bleichenbacher's Oracle Threat",
USENIX Security 2018; as testssl.sh's ``run_robot`` and sslyze's robot plugin
apply it): for each of five premaster-secret encodings, one connection with a
ClientHello offering only RSA key-transport suites (AES-GCM first: some
servers leak only there), the server's flight up to ServerHelloDone, the RSA
key from its certificate, then ClientKeyExchange + ChangeCipherSpec + a
garbage Finished in one write.  A sound server fails every variant the same
way (RFC 5246 §7.4.7.1: it must not reveal whether the padding was correct);
different answers (another alert, a close instead of an alert, silence) are
an oracle.

The five encodings, for a modulus of k bytes (PKCS #1 v1.5 block type 2)::

    valid                  00 02 <pad> 00 <version> <46 bytes>
    wrong_first_two_bytes  41 17 <pad> 00 <version> <46 bytes>
    wrong_position_00      00 02 <pad> 11 <46 bytes> 00 11
    no_00_in_the_middle    00 02 <pad> 11 11 11 <46 bytes>
    wrong_version_number   00 02 <pad> 00 02 02 <46 bytes>

Five connections when the answers agree.  When they differ, the round is run
once more: the same answers again = vulnerable (a *weak* oracle when the three
malformed-padding variants look alike, as the paper classes it); different
answers = inconsistent, reported as not tested.  A server without RSA key
exchange (an alert or a hang-up in answer to the RSA-only hello, as testssl.sh
counts it) is not vulnerable.  Encryption is textbook RSA (``pow(m, e, n)``):
the paddings are malformed on purpose, so no library padding applies.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from mxtls.models.vulns import RobotObservation, RobotOracle, RobotPayload
from mxtls.net.deep.vulns._common import (
    CT_HANDSHAKE,
    Flight,
    NotTested,
    ProbeContext,
    ProbeRun,
    Refused,
    change_cipher_spec,
    read_flight,
    read_response,
    record,
    send,
)
from mxtls.protocol.tls_registry import (
    CIPHER_SUITES,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    BulkCipher,
    CipherMode,
    CipherSuite,
    KeyExchange,
    TlsVersion,
    cipher_suite,
    cipher_suite_name,
)
from mxtls.protocol.tls_wire import ClientHello, RecordReader, build_client_hello
from mxtls.trust.certinfo import UnparsableCertificateError, load_certificate

PAYLOADS: tuple[RobotPayload, ...] = (
    "valid",
    "wrong_first_two_bytes",
    "wrong_position_00",
    "no_00_in_the_middle",
    "wrong_version_number",
)
ROBOT_REPLY_WAIT_S = 2.0  # testssl starts at 1s; sound servers alert at once
PREMASTER_BYTES = 48  # RFC 5246 §7.4.7.1: client_version + 46 random bytes
MIN_MODULUS_BYTES = PREMASTER_BYTES + 3 + 8  # PKCS #1 v1.5 §7.2.1: at least 8 padding bytes
HS_CLIENT_KEY_EXCHANGE = 16  # RFC 5246 §7.4
# Fixed, so every variant and every round sends the same secret and the same Finished.
PREMASTER_RANDOM = hashlib.sha512(b"mxtls robot premaster").digest()[:46]
GARBAGE_FINISHED = hashlib.sha512(b"mxtls robot finished").digest()  # 64 bytes, never valid


def _robot_suites() -> list[int]:
    """Every non-export RSA key-transport suite, AES-GCM first, then AES-CBC, then the rest."""
    rsa = [s for s in CIPHER_SUITES.values() if s.kx is KeyExchange.RSA and not s.export]

    def rank(suite: CipherSuite) -> int:
        aes = suite.cipher is BulkCipher.AES
        if aes and suite.mode is CipherMode.GCM:
            return 0
        if aes and suite.mode is CipherMode.CBC:
            return 1
        return 2

    return [s.code for s in sorted(rsa, key=rank)] + [TLS_EMPTY_RENEGOTIATION_INFO_SCSV]


def encode_premaster(payload: RobotPayload, modulus_bytes: int, version: int) -> bytes:
    """The ``payload`` variant of a PKCS #1 v1.5 premaster-secret block of ``modulus_bytes``.

    Raises:
        ValueError: the modulus is too small for a premaster secret.
    """
    if modulus_bytes < MIN_MODULUS_BYTES:
        raise ValueError(f"a {modulus_bytes}-byte modulus cannot carry a premaster secret")
    pad_len = modulus_bytes - 3 - PREMASTER_BYTES
    pad = bytes(1 + (i * 37) % 255 for i in range(pad_len))  # non-zero, as PKCS #1 requires
    ver = version.to_bytes(2, "big")
    rnd = PREMASTER_RANDOM
    blocks: dict[RobotPayload, bytes] = {
        "valid": b"\x00\x02" + pad + b"\x00" + ver + rnd,
        "wrong_first_two_bytes": b"\x41\x17" + pad + b"\x00" + ver + rnd,
        "wrong_position_00": b"\x00\x02" + pad + b"\x11" + rnd + b"\x00\x11",
        "no_00_in_the_middle": b"\x00\x02" + pad + b"\x11\x11\x11" + rnd,
        "wrong_version_number": b"\x00\x02" + pad + b"\x00\x02\x02" + rnd,
    }
    block = blocks[payload]
    assert len(block) == modulus_bytes
    return block


def client_key_exchange(
    payload: RobotPayload, key: RSAPublicNumbers, client_version: int, record_version: int
) -> bytes:
    """A ClientKeyExchange record carrying the ``payload`` block encrypted to ``key``."""
    k = (key.n.bit_length() + 7) // 8
    block = encode_premaster(payload, k, client_version)
    encrypted = pow(int.from_bytes(block, "big"), key.e, key.n).to_bytes(k, "big")
    # SSL 3.0 sends the bare ciphertext; TLS prefixes its length (RFC 5246 §7.4.7.1).
    body = encrypted
    if record_version != TlsVersion.SSL3:
        body = len(encrypted).to_bytes(2, "big") + encrypted
    message = bytes([HS_CLIENT_KEY_EXCHANGE]) + len(body).to_bytes(3, "big") + body
    return record(CT_HANDSHAKE, record_version, message)


def classify_oracle(answers: dict[RobotPayload, str]) -> RobotOracle | None:
    """None when all answers agree; else ``weak`` or ``strong`` (the ROBOT paper's test).

    A weak oracle only tells a correctly formatted block with the 00 in the right
    place from the rest: the three malformed-padding variants draw the same answer.
    """
    if len(set(answers.values())) == 1:
        return None
    malformed = {
        answers["wrong_first_two_bytes"],
        answers["wrong_position_00"],
        answers["no_00_in_the_middle"],
    }
    return "weak" if len(malformed) == 1 else "strong"


async def probe_robot(ctx: ProbeContext) -> RobotObservation:
    """Test the endpoint for ROBOT with five (or, to confirm an oracle, ten) connections.

    Returns:
        The observation; ``vulnerable`` is None (with the reason) when no TLS
        channel could be opened, a handshake failed midway or the answers were
        inconsistent between the two rounds.
    """
    return await ctx.run_probe(RobotObservation, _test)


async def _test(ctx: ProbeContext, run: ProbeRun, facts: dict[str, object]) -> bool:
    hello = build_client_hello(TlsVersion.TLS1_2, _robot_suites(), server_name=ctx.sni)
    rounds: list[dict[RobotPayload, str]] = []
    facts["rounds"] = rounds
    first = await _round(ctx, run, facts, hello)
    if first is None:
        return False
    rounds.append(first)
    oracle = classify_oracle(first)
    if oracle is None:
        run.note(f"all five paddings drew the same answer: {first['valid']}")
        return False
    run.note("the paddings drew different answers; running the round again to confirm")
    second = await _round(ctx, run, facts, hello)
    if second is None:
        raise NotTested("RSA key exchange refused in the confirming round")
    rounds.append(second)
    if second != first:
        changed = [p for p in PAYLOADS if first[p] != second[p]]
        raise NotTested(f"inconsistent answers between two rounds ({', '.join(changed)})")
    facts["oracle"] = oracle
    run.note(f"{oracle} oracle: the same different answers in two rounds")
    return True


async def _round(
    ctx: ProbeContext, run: ProbeRun, facts: dict[str, object], hello: ClientHello
) -> dict[RobotPayload, str] | None:
    """One answer per payload, or None when the server has no RSA key exchange."""
    answers: dict[RobotPayload, str] = {}
    for payload in PAYLOADS:
        answer = await _attempt(ctx, run, facts, hello, payload)
        if answer is None:
            if answers:
                raise NotTested("the server refused RSA key exchange midway")
            return None
        answers[payload] = answer
    return answers


async def _attempt(
    ctx: ProbeContext,
    run: ProbeRun,
    facts: dict[str, object],
    hello: ClientHello,
    payload: RobotPayload,
) -> str | None:
    async with run.channel() as channel:
        await send(channel, hello.to_bytes())
        reader = RecordReader()
        flight = await read_flight(channel, reader, ctx.config.timeouts.handshake)
        if isinstance(flight, Refused):
            if flight.alert is not None or flight.closed:
                if "rsa_key_exchange" not in facts:
                    facts["rsa_key_exchange"] = False
                    run.note(f"no RSA key exchange: {flight.detail}")
                return None
            raise NotTested(f"RSA handshake failed: {flight.detail}")
        key = _rsa_key(flight)
        if "rsa_key_exchange" not in facts:
            facts["rsa_key_exchange"] = True
            facts["version"] = flight.version_name
            facts["cipher_suite"] = cipher_suite_name(flight.server_hello.cipher_suite)
            facts["modulus_bits"] = key.n.bit_length()
            run.note(
                f"{flight.version_name} {facts['cipher_suite']}, "
                f"RSA-{key.n.bit_length()} key from the certificate"
            )
            if flight.certificate_request:
                run.note("the server asked for a client certificate (none sent)")
        try:
            cke = client_key_exchange(payload, key, hello.version, flight.version)
        except ValueError as exc:
            raise NotTested(str(exc)) from None
        finished = record(CT_HANDSHAKE, flight.version, GARBAGE_FINISHED)
        if not await send(channel, cke + change_cipher_spec(flight.version) + finished):
            return "reset"
        response = await read_response(channel, reader, ctx.wait(ROBOT_REPLY_WAIT_S))
        return response.label


def _rsa_key(flight: Flight) -> RSAPublicNumbers:
    suite = cipher_suite(flight.server_hello.cipher_suite)
    if suite is None or suite.kx is not KeyExchange.RSA:
        raise NotTested(
            f"server chose {cipher_suite_name(flight.server_hello.cipher_suite)}, "
            "not an offered RSA key-transport suite"
        )
    if not flight.certificates:
        raise NotTested("no certificate in the server's flight")
    try:
        public = load_certificate(flight.certificates[0]).public_key()
    except UnparsableCertificateError as exc:
        raise NotTested(f"leaf certificate: {exc.reason}") from None
    if not isinstance(public, RSAPublicKey):
        raise NotTested("RSA key exchange chosen but the leaf key is not RSA")
    return public.public_numbers()

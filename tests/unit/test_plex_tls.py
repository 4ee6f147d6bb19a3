"""TLS towards Plex is verified by default: a loopback HTTPS server with a self-signed certificate is
refused (and the failure names the certificate), and reached only when the user turned verification off."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plex_cdf.plex.client import PlexClient, PlexSettings
from plex_cdf.plex.errors import PlexError

LOOPBACK = ipaddress.ip_address("127.0.0.1")
BODY = b'[{"id":"p1"}]'


def self_signed(folder: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@asynccontextmanager
async def https_plex(context: ssl.SSLContext) -> AsyncIterator[str]:
    """A loopback HTTPS server answering every request with one list of parts."""

    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(BODY)}\r\n\r\n"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readuntil(b"\r\n\r\n")) and not writer.is_closing():
                writer.write(head.encode() + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def settings(url: str, **overrides: object) -> PlexSettings:
    values: dict[str, object] = {
        "connect_url": url,
        "datasource_url": url,
        "api_key": "KEY-0123",
        "customer_id": "340884",
        "max_retries": 0,
        "breaker_threshold": 100,
    }
    values.update(overrides)
    return PlexSettings(**values)  # type: ignore[arg-type]


async def read_parts(context: ssl.SSLContext, **overrides: object) -> list[dict[str, object]]:
    async with https_plex(context) as url, PlexClient(settings(url, **overrides)) as client:
        return await client.get_list("/mdm/v1/parts")


def test_a_self_signed_plex_is_refused_by_default_and_the_error_names_the_certificate(tmp_path: Path) -> None:
    context = self_signed(tmp_path)
    with pytest.raises(PlexError, match=r"(?i)certificate"):
        asyncio.run(read_parts(context))


def test_it_is_reached_only_when_verification_is_turned_off(tmp_path: Path) -> None:
    assert asyncio.run(read_parts(self_signed(tmp_path), verify_tls=False)) == [{"id": "p1"}]

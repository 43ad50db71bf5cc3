"""Corporate networks: TLS is always verified, a custom CA can be trusted, proxies work; the key
never travels in clear text to a host that is not loopback unless that is allowed."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lexi_tui.api import InsecureURLError, LexiClient, TLSError
from lexi_tui.api.chamelio import ChamelioClient
from lexi_tui.core.config import load_config
from lexi_tui.server.options import ServerOptions
from lexi_tui.server.runner import start_server

KEY = "wbk_tls_0000000000000000abcd"
BODY = json.dumps({"data": {"tasks": []}}).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lexi-tui test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "ca.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def https_server(tmp_path):
    cert, key = _self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


async def test_an_unknown_certificate_is_refused_and_a_configured_ca_is_trusted(https_server, tmp_path) -> None:
    url, ca = https_server
    async with LexiClient(KEY, url, read_retries=0) as client:
        with pytest.raises(TLSError) as refused:
            await client.list_tasks()
    assert KEY not in str(refused.value)
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'[profiles.corp]\nbase_url = "{url}"\nca_bundle = "{ca}"\n')
    profile = load_config(config_file).profile("corp")
    async with LexiClient(KEY, profile.base_url, ca_bundle=profile.ca_bundle, read_retries=0) as client:
        assert await client.list_tasks() == []


def test_a_missing_ca_bundle_is_a_config_error(tmp_path) -> None:
    from lexi_tui.core.config import ConfigError

    config_file = tmp_path / "config.toml"
    config_file.write_text('[profiles.corp]\nca_bundle = "/no/such/ca.pem"\n')
    with pytest.raises(ConfigError, match="ca_bundle"):
        load_config(config_file)


async def test_the_proxy_variables_are_honoured(monkeypatch) -> None:
    """An HTTP proxy sees absolute-form requests for the API's URL."""
    _Handler.seen = []
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with LexiClient(KEY, "http://lexi.example.invalid/gw", read_retries=0, allow_insecure_http=True) as client:
            assert await client.list_tasks() == []
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert _Handler.seen == ["http://lexi.example.invalid/gw/v1/lexi/tasks?status=pending"]


@pytest.mark.parametrize("url", ["http://lexi.example.com/gw", "http://10.0.0.7:8787", "http://[2001:db8::1]/",
                                 "http://127.0.0.1.nip.io/", "HTTP://Example.COM"])
@pytest.mark.parametrize("make", [LexiClient, ChamelioClient])
def test_plain_http_to_another_host_is_refused_before_anything_is_sent(make, url) -> None:
    with pytest.raises(InsecureURLError) as refused:
        make(KEY, url)
    message = str(refused.value)
    assert refused.value.host.lower() in message.lower() and "allow_insecure_http" in message and "https://" in message
    assert KEY not in message
    assert isinstance(refused.value, ValueError)  # what callers already catch for a bad URL
    make(KEY, url, allow_insecure_http=True)  # allowed when asked for
    make(KEY, url.replace("http://", "https://", 1).replace("HTTP://", "https://"))  # https is always fine


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x", "http://127.8.9.10/", "http://localhost:8787",
                                 "http://LOCALHOST./", "http://[::1]:8787/", "http://[::ffff:127.0.0.1]/"])
def test_plain_http_to_loopback_is_fine(url) -> None:
    LexiClient(KEY, url)
    ChamelioClient(KEY, url)


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com", "http://", "https:///x"])
def test_a_base_url_that_is_not_http_is_refused(url) -> None:
    with pytest.raises(ValueError):
        LexiClient(KEY, url)


async def test_a_loopback_service_is_reached_directly_even_with_a_proxy_set(monkeypatch) -> None:
    """The key in clear text to loopback is fine; to a proxy it would not be."""
    _Handler.seen = []
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    options = ServerOptions(keys=(KEY,), seed_tasks=2)
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        with start_server(options) as server:
            async with LexiClient(KEY, server.base_url, read_retries=0) as client:
                assert len(await client.list_tasks()) >= 1
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert _Handler.seen == []


async def test_an_unreadable_ca_bundle_is_a_tls_error_at_first_use(tmp_path) -> None:
    """The trust store is loaded off the event loop on first use, so a bad bundle is a TLSError
    there (a LexiError callers handle), not an exception from a constructor."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate")
    client = LexiClient(KEY, "https://127.0.0.1:1", ca_bundle=str(bundle), read_retries=0)
    with pytest.raises(TLSError) as refused:
        await client.list_tasks()
    assert "CA bundle" in str(refused.value) and str(bundle) in str(refused.value)
    with pytest.raises(TLSError):
        async with LexiClient(KEY, "https://127.0.0.1:1", ca_bundle=str(tmp_path / "missing.pem")):
            pass

"""Corporate networks: TLS is always verified, a custom CA can be trusted, proxies work."""

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

from lexi_tui.api import LexiClient, TLSError
from lexi_tui.core.config import load_config

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
        async with LexiClient(KEY, "http://lexi.example.invalid/gw", read_retries=0) as client:
            assert await client.list_tasks() == []
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert _Handler.seen == ["http://lexi.example.invalid/gw/v1/lexi/tasks?status=pending"]

"""Keys from files and the environment, masked wherever the service shows them; the request body
limit (413, chunked bodies counted); clients that disconnect mid-request (issue 13)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from lexi_tui.server.cli import add_arguments, banner, options_from_args, run
from lexi_tui.server.keys import KeySourceError, key_labels, mask_key, parse_key_text

from .conftest import KEY, KEY2, NO_LEXI_KEY, add_tasks, admin_client, admin_get, auth, pending_task, wait_for

LEXI_KEY = "wbk_live_5f3c2e9d8a7b6c5d1a2b"
CHAMELIO_KEY = "ca_live_77aa88bb99cc9f0e"
TOO_LARGE = "payload_too_large"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="serve")
    add_arguments(parser)
    return parser.parse_args(list(argv))


# -- masking ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "masked"), [
    (LEXI_KEY, "wbk_…1a2b"), (CHAMELIO_KEY, "ca_…9f0e"), ("wbk_demo_0000000000000000", "wbk_…0000"),
    ("ca_one", "ca_…"), ("k1", "…"), ("plainkeywithoutprefix1234", "…1234"), ("wbk_12345678", "wbk_…5678"),
    ("wbk_1234567", "wbk_…"),
])
def test_mask_shows_prefix_ellipsis_and_last_four_only_when_enough_stays_hidden(key, masked) -> None:
    assert mask_key(key) == masked


def test_labels_stay_unique_when_two_keys_mask_alike() -> None:
    labels = key_labels(["wbk_aaaaaaaa1234", "wbk_bbbbbbbb1234", "wbk_cccccccc9999"])
    assert list(labels.values()) == ["wbk_…1234", "wbk_…1234 (2)", "wbk_…9999"]


# -- key sources ------------------------------------------------------------------------------------


def test_key_file_format() -> None:
    text = "# production-like keys\n\nwbk_one_0000000000001  # Alice\n  wbk_two_0000000000002\n#wbk_off\n"
    assert parse_key_text(text, "keys.txt") == ["wbk_one_0000000000001", "wbk_two_0000000000002"]
    with pytest.raises(KeySourceError, match="keys.txt, line 2: expected one key per line"):
        parse_key_text("wbk_a\nwbk_b wbk_c\n", "keys.txt")


def test_keys_come_from_options_files_and_environment(tmp_path) -> None:
    lexi_file, chamelio_file = tmp_path / "lexi.keys", tmp_path / "chamelio.keys"
    lexi_file.write_text(f"# mine\n{LEXI_KEY}\nwbk_cli_000000000000000a\n")
    chamelio_file.write_text(f"{CHAMELIO_KEY}\n")
    environ = {"LEXI_SERVE_KEYS": "wbk_env_00000000000001, wbk_env_00000000000002\twbk_cli_000000000000000a",
               "LEXI_SERVE_CHAMELIO_KEYS": "ca_env_000000000000001"}
    options = options_from_args(parse("--key", "wbk_cli_000000000000000a", "--key-file", str(lexi_file),
                                      "--chamelio-key-file", str(chamelio_file)), environ)
    assert options.keys == ("wbk_cli_000000000000000a", LEXI_KEY, "wbk_env_00000000000001", "wbk_env_00000000000002")
    assert options.chamelio_keys == (CHAMELIO_KEY, "ca_env_000000000000001")
    assert options_from_args(parse(), {}).keys == ()  # nothing from anywhere: the demo key applies


def test_a_bad_key_file_exits_2_before_serving(tmp_path, capsys) -> None:
    assert run(parse("--port", "0", "--key-file", str(tmp_path / "missing.keys"))) == 2
    assert "cannot read key file" in capsys.readouterr().err
    bad = tmp_path / "bad.keys"
    bad.write_text("two words\n")
    assert run(parse("--port", "0", "--chamelio-key-file", str(bad))) == 2
    assert "line 1" in capsys.readouterr().err


def test_help_documents_key_sources_and_visibility() -> None:
    parser = argparse.ArgumentParser(prog="lexi-tui serve")
    add_arguments(parser)
    text = parser.format_help()
    for phrase in ("--key-file", "--chamelio-key-file", "LEXI_SERVE_KEYS", "LEXI_SERVE_CHAMELIO_KEYS",
                   "visible in ps", "masked", "--max-body"):
        assert phrase in text, phrase


def test_the_banner_masks_every_key() -> None:
    options = options_from_args(parse("--key", LEXI_KEY, "--key-without-lexi", "wbk_nolexi_00000000009999",
                                      "--chamelio-key", CHAMELIO_KEY, "--admin"), {})
    text = banner(options, "http://h:1/functions/v1/api-gateway", "http://h:1", "/tmp/x.db")
    assert "wbk_…1a2b" in text and "wbk_…9999" in text and "ca_…9f0e" in text
    for key in (LEXI_KEY, "wbk_nolexi_00000000009999", CHAMELIO_KEY):
        assert key not in text
    demo = banner(options_from_args(parse(), {}), "http://h:1/x", "http://h:1", "/tmp/x.db")
    assert "wbk_…0000" in demo and "wbk_demo_0000000000000000" not in demo and "demo key" in demo


def test_no_admin_answer_shows_a_whole_key(make_server) -> None:
    server = make_server(chamelio_keys=(CHAMELIO_KEY,), plan="pro")
    for key in (KEY, KEY2, NO_LEXI_KEY, "wbk_unknown_000000000000"):
        admin_client().get(f"{server.base_url}/v1/lexi/tasks", headers=auth(key))
    chat = admin_client().post(f"{server.base_url}/v1/lexi/chat", json={"message": "hi"}, headers=auth())
    stats = admin_get(server, "/stats")
    assert stats["by_key"] == {mask_key(KEY): 2, mask_key(KEY2): 1, mask_key(NO_LEXI_KEY): 1}
    paths = ["/stats", "/ratelimit", "/credits", "/faults", f"/conversations/{chat.json()['data']['conversation_id']}",
             "/chamelio/tasks", "/chamelio/webhooks", "/chamelio/faults"]
    for path in paths:
        text = admin_client().get(f"{server.root_url}/_admin{path}").text
        for key in (KEY, KEY2, NO_LEXI_KEY, CHAMELIO_KEY):
            assert key not in text, (path, key)


# -- body size ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_in_the_lexi_envelope(make_server) -> None:
    server = make_server(max_body=1_000)
    (task_id,) = add_tasks(server, [pending_task()])
    url = f"{server.base_url}/v1/lexi/tasks/{task_id}/dismiss"
    with httpx.Client(headers=auth(), timeout=10) as client:
        big = client.post(url, content=b'{"reason": "' + b"x" * 2_000 + b'"}', headers={"content-type": "application/json"})
        assert big.status_code == 413
        assert big.json()["error"]["code"] == TOO_LARGE and set(big.json()) == {"error"}
        assert big.headers["x-request-id"].startswith("req_") and big.headers["connection"] == "close"
        exact = b'{"reason": "' + b"y" * (1_000 - 14) + b'"}'
        assert len(exact) == 1_000
        fits = client.post(url, content=exact, headers={"content-type": "application/json"})
        assert fits.status_code == 200, fits.text  # the limit itself is allowed; the client reconnected
    assert admin_client().get(f"{server.root_url}/_admin/tasks/{task_id}").json()["data"]["reason"] == "y" * 986


def test_the_default_limit_is_one_mebibyte_and_counts_before_auth(make_server) -> None:
    server = make_server()
    body = b"{" + b" " * (1024 * 1024) + b"}"
    anonymous = httpx.post(f"{server.base_url}/v1/lexi/chat", content=body, timeout=10)
    assert anonymous.status_code == 413 and anonymous.json()["error"]["code"] == TOO_LARGE
    small = httpx.post(f"{server.base_url}/v1/lexi/chat", json={"message": "hi"}, headers=auth(), timeout=10)
    assert small.status_code == 200


def test_a_chunked_body_is_counted_while_it_is_read(make_server) -> None:
    server = make_server(max_body=4_096)

    def chunks() -> Iterator[bytes]:
        yield b'{"message": "'
        for _ in range(10):
            yield b"z" * 1_000
        yield b'"}'

    response = httpx.post(f"{server.base_url}/v1/lexi/chat", content=chunks(), headers=auth(), timeout=10)
    assert "content-length" not in response.request.headers  # really chunked
    assert response.status_code == 413 and response.json()["error"]["code"] == TOO_LARGE

    def small() -> Iterator[bytes]:
        yield b'{"message": '
        yield b'"hello"}'

    assert httpx.post(f"{server.base_url}/v1/lexi/chat", content=small(), headers=auth()).status_code == 200


def test_the_chamelio_face_answers_413_with_detail(make_server) -> None:
    server = make_server(max_body=512, chamelio_seed_workflows=1)
    response = httpx.post(f"{server.root_url}/chamelio/tasks/1001/approve", headers={"X-API-Key": "ca_demo_0000000000000000"},
                          json={"approved": True, "comment": "c" * 1_000}, timeout=10)
    assert response.status_code == 413 and set(response.json()) == {"detail"}
    assert response.json()["detail"] == "Request body too large"


def test_admin_requests_have_no_body_limit(make_server) -> None:
    server = make_server(max_body=100)
    ids = add_tasks(server, [pending_task(description="d" * 5_000)])
    assert len(ids) == 1


def test_expect_100_continue_gets_the_413_without_sending_the_body(make_server) -> None:
    server = make_server(max_body=100)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"POST /functions/v1/api-gateway/v1/lexi/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}"
                     f"\r\nContent-Type: application/json\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n".encode())
        answer = _read_head(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert b"100 Continue" not in answer


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# -- disconnects -------------------------------------------------------------------------------------


class Records(logging.Handler):
    """Collects every record of the loggers it is attached to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def service_logs() -> Iterator[Records]:
    """Every record of the service's and uvicorn's loggers (uvicorn's do not propagate when quiet)."""
    handler = Records()
    names = ("lexi_tui.server", "uvicorn", "uvicorn.error", "uvicorn.asgi")
    levels = {}
    for name in names:
        log = logging.getLogger(name)
        levels[name] = log.level
        log.setLevel(logging.DEBUG)
        log.addHandler(handler)
    yield handler
    for name in names:
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(levels[name])


def _half_a_body(port: int, path: str, headers: str, body: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        time.sleep(0.05)


@pytest.mark.parametrize(("path", "headers"), [
    ("/functions/v1/api-gateway/v1/lexi/chat", f"Authorization: Bearer {KEY}\r\nContent-Length: 1000\r\n"),
    ("/functions/v1/api-gateway/v1/lexi/chat", f"Authorization: Bearer {KEY}\r\nTransfer-Encoding: chunked\r\n"),
    ("/chamelio/tasks/1001/approve", "X-API-Key: ca_demo_0000000000000000\r\nContent-Length: 800\r\n"),
    ("/functions/v1/api-gateway/v1/lexi/tasks/x/dismiss", "Content-Length: 300\r\n"),
])
def test_a_client_leaving_mid_body_is_not_an_error(make_server, service_logs, path, headers) -> None:
    server = make_server(chamelio_seed_workflows=1)
    # A valid first chunk and no last one, or half the declared length: then the client leaves.
    body = b"b\r\n" + b'{"message":' + b"\r\n" if "chunked" in headers else b'{"message": "' + b"h" * 200
    _half_a_body(server.port, path, headers, body)
    wait_for(lambda: admin_get(server, "/stats")["client_disconnects"] == 1)
    assert httpx.get(f"{server.base_url}/v1/lexi/tasks", headers=auth()).status_code == 200  # still serving
    server.stop()
    loud = [r for r in service_logs.records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [(r.name, r.getMessage()) for r in loud]
    assert any("disconnected" in r.getMessage() for r in service_logs.records if r.name == "lexi_tui.server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_cli_prints_no_traceback_for_a_client_that_leaves(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONUNBUFFERED": "1", "LEXI_SERVE_KEYS": LEXI_KEY}
    process = subprocess.Popen([sys.executable, "-m", "lexi_tui.server", "--port", str(port), "--max-body", "2000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert re.match(r"^Lexi local service listening on http://127\.0\.0\.1:\d+/", first), first
        keys = process.stdout.readline()
        assert "wbk_…1a2b" in keys and LEXI_KEY not in keys
        prefix = "/functions/v1/api-gateway/v1/lexi"
        _half_a_body(port, f"{prefix}/chat", f"Authorization: Bearer {LEXI_KEY}\r\nContent-Length: 900\r\n", b"{")
        _half_a_body(port, f"{prefix}/chat", f"Authorization: Bearer {LEXI_KEY}\r\nTransfer-Encoding: chunked\r\n",
                     b"5\r\n{\"me")  # a 5-byte chunk cut off after 4 bytes
        big = httpx.post(f"http://127.0.0.1:{port}{prefix}/chat", content=b"x" * 5_000,
                         headers={"Authorization": f"Bearer {LEXI_KEY}"}, timeout=10)
        assert big.status_code == 413
        assert httpx.get(f"http://127.0.0.1:{port}{prefix}/tasks", headers={"Authorization": f"Bearer {LEXI_KEY}"},
                         timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.stderr is not None
    err = process.stderr.read()
    assert "Traceback" not in err and "Exception" not in err and "ERROR" not in err, err
    assert "stopped" in err

"""`lexi-tui login` / `logout` against a real HTTP server on 127.0.0.1.

The server is a throwaway stdlib `http.server` (the project's own local service is
developed separately): 200 for GOOD_KEY, 403 for NO_LEXI_KEY, 500 for BROKEN_KEY and
401 `invalid_key` for anything else.
"""

from __future__ import annotations

import asyncio
import getpass
import io
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import keyring
import pytest

from lexi_tui.api.errors import ConnectError, InvalidKeyError, PermissionDeniedError
from lexi_tui.cli.account import login_command, logout_command
from lexi_tui.cli.exit_codes import Exit
from lexi_tui.core.config import Profile
from lexi_tui.providers.lexi import check_key
from memory_keyring import MemoryKeyring

GOOD_KEY = "wbk_0a1b2c3d4e5f60718293a4b5c6d71a2b"
GOOD_MASKED = "wbk_…1a2b"
NO_LEXI_KEY = "wbk_ffeeddccbbaa99887766554433229c8d"
BROKEN_KEY = "wbk_500500500500500500500500500500ee"
BAD_KEY = "wbk_deadbeefdeadbeefdeadbeefdeadbeef"
API_PATH = "/functions/v1/api-gateway/v1/lexi/tasks"


class _Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, str]]  # set per server: (path with query, Authorization)

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Authorization", "")))
        url = urlsplit(self.path)
        auth = self.headers.get("Authorization", "")
        if url.path != API_PATH or parse_qs(url.query).get("status") != ["pending"]:
            self._reply(404, {"error": {"code": "not_found", "message": "No such route"}})
        elif auth == f"Bearer {GOOD_KEY}":
            self._reply(200, {"data": {"tasks": []}})
        elif auth == f"Bearer {NO_LEXI_KEY}":
            self._reply(403, {"error": {"code": "insufficient_permissions", "message": "Key lacks lexi"}})
        elif auth == f"Bearer {BROKEN_KEY}":
            self._reply(500, {"error": {"code": "server_error", "message": "Database on fire"}})
        else:
            self._reply(401, {"error": {"code": "invalid_key", "message": "Invalid API key"}})

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeAPI:
    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"requests": []})
        self.requests: list[tuple[str, str]] = handler.requests
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.base_url = f"http://{self.host}/functions/v1/api-gateway"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def _server() -> Iterator[FakeAPI]:
    api = FakeAPI()
    yield api
    api.close()


@pytest.fixture
def api(_server: FakeAPI, monkeypatch: pytest.MonkeyPatch) -> FakeAPI:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # httpx trusts the environment
    _server.requests.clear()
    return _server


@pytest.fixture
def profile(api: FakeAPI) -> Profile:
    return Profile("local", api.base_url)


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def unreachable_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/functions/v1/api-gateway"


def run_login(profile: Profile, **kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = login_command(profile, out=out, err=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def run_logout(profile: Profile) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = logout_command(profile, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# -- check_key ---------------------------------------------------------------------


async def test_check_key_accepts_the_good_key(api: FakeAPI) -> None:
    await check_key(GOOD_KEY, api.base_url)
    assert api.requests == [(f"{API_PATH}?status=pending", f"Bearer {GOOD_KEY}")]


async def test_check_key_raises_the_clients_errors(api: FakeAPI) -> None:
    with pytest.raises(InvalidKeyError):
        await check_key(BAD_KEY, api.base_url)
    with pytest.raises(PermissionDeniedError):
        await check_key(NO_LEXI_KEY, api.base_url)
    with pytest.raises(ConnectError):
        await check_key(GOOD_KEY, unreachable_url())
    with pytest.raises(ValueError):
        await check_key("not a key", api.base_url)


# -- login -------------------------------------------------------------------------


def test_login_stores_a_good_key(api: FakeAPI, profile: Profile, memory: MemoryKeyring) -> None:
    code, out, err = run_login(profile, key=GOOD_KEY)
    assert code == 0, err
    assert memory.entries == {("lexi-tui", "local"): GOOD_KEY}
    assert out == f"Logged in to {api.host} (profile local) with key {GOOD_MASKED}; stored in Memory Keyring.\n"
    assert err == ""
    assert GOOD_KEY not in out + err


def test_login_reads_one_line_from_a_pipe(profile: Profile, memory: MemoryKeyring) -> None:
    code, out, err = run_login(profile, stdin=io.StringIO(f"  {GOOD_KEY}\r\nignored second line\n"))
    assert code == 0, err
    assert memory.entries == {("lexi-tui", "local"): GOOD_KEY}
    assert GOOD_MASKED in out and GOOD_KEY not in out + err


def test_login_prompts_without_echo_on_a_terminal(
    profile: Profile, memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str = "", stream: object = None) -> str:
        prompts.append(prompt)
        return GOOD_KEY

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, out, err = run_login(profile, stdin=Terminal("this must not be read\n"))
    assert code == 0, err
    assert prompts == [f"API key for {profile.base_url.split('/')[2]} (profile local): "]
    assert memory.entries == {("lexi-tui", "local"): GOOD_KEY}


def test_login_refuses_a_bad_key(api: FakeAPI, profile: Profile, memory: MemoryKeyring) -> None:
    code, out, err = run_login(profile, key=BAD_KEY)
    assert code == Exit.AUTH
    assert memory.entries == {}
    assert f"That key was refused by {api.host} (invalid_key)." in err
    assert out == "" and BAD_KEY not in err


def test_login_refuses_a_key_without_the_lexi_permission(profile: Profile, memory: MemoryKeyring) -> None:
    code, out, err = run_login(profile, key=NO_LEXI_KEY)
    assert code == Exit.AUTH
    assert memory.entries == {}
    assert "lacks the lexi permission" in err and "Nothing was stored" in err
    assert NO_LEXI_KEY not in out + err


def test_login_reports_a_server_error(api: FakeAPI, profile: Profile, memory: MemoryKeyring) -> None:
    code, _out, err = run_login(profile, key=BROKEN_KEY)
    assert code == Exit.FAILED and memory.entries == {}
    assert f"Could not check the key with {api.host}" in err and "Database on fire" in err


def test_login_reports_an_unreachable_host(memory: MemoryKeyring) -> None:
    url = unreachable_url()
    code, out, err = run_login(Profile("local", url), key=GOOD_KEY)
    assert code == Exit.UNAVAILABLE
    assert memory.entries == {}
    assert f"Could not reach {url.split('/')[2]}" in err and "could not connect" in err
    assert GOOD_KEY not in out + err


def test_login_without_a_keyring_exits_11_before_asking(api: FakeAPI, profile: Profile) -> None:
    # conftest's fail backend: a headless machine.
    stdin = io.StringIO(f"{GOOD_KEY}\n")
    code, out, err = run_login(profile, stdin=stdin)
    assert code == Exit.KEYRING
    assert "LEXI_API_KEY" in err and "keyrings.cryptfile" in err
    assert api.requests == [] and stdin.tell() == 0  # Neither read nor sent anywhere.
    assert out == "" and GOOD_KEY not in err


@pytest.mark.parametrize("stdin", ["", "\n", "   \n"])
def test_login_with_no_key_is_a_usage_error(api: FakeAPI, profile: Profile, memory: MemoryKeyring, stdin: str) -> None:
    code, _out, err = run_login(profile, stdin=io.StringIO(stdin))
    assert code == 2 and "No API key was given" in err
    assert api.requests == [] and memory.entries == {}


def test_login_with_something_that_cannot_be_a_key(api: FakeAPI, profile: Profile, memory: MemoryKeyring) -> None:
    code, _out, err = run_login(profile, key="wbk_two words")
    assert code == 2 and "does not look like an API key" in err
    assert api.requests == [] and memory.entries == {} and "two words" not in err


def test_login_notes_an_env_var_that_would_override(
    profile: Profile, memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEXI_API_KEY", BAD_KEY)
    code, out, err = run_login(profile, key=GOOD_KEY)
    assert code == 0
    assert "LEXI_API_KEY is set" in err and "wbk_…beef" in err
    assert BAD_KEY not in out + err and GOOD_KEY not in out + err


# -- logout ------------------------------------------------------------------------


def test_logout_removes_the_stored_key(profile: Profile, memory: MemoryKeyring) -> None:
    memory.entries[("lexi-tui", "local")] = GOOD_KEY
    memory.entries[("lexi-tui", "other")] = BAD_KEY
    code, out, err = run_logout(profile)
    assert code == 0
    assert out == "Removed the key for profile local from Memory Keyring.\n" and err == ""
    assert memory.entries == {("lexi-tui", "other"): BAD_KEY}


def test_logout_when_nothing_was_stored(profile: Profile, memory: MemoryKeyring) -> None:
    code, out, err = run_logout(profile)
    assert code == 0
    assert out == "No key was stored for profile local in Memory Keyring.\n" and err == ""


def test_logout_warns_about_the_env_var(
    profile: Profile, memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory.entries[("lexi-tui", "local")] = GOOD_KEY
    monkeypatch.setenv("LEXI_API_KEY", GOOD_KEY)
    code, out, err = run_logout(profile)
    assert code == 0 and "Removed the key" in out
    assert "LEXI_API_KEY is still set" in err and GOOD_MASKED in err
    assert GOOD_KEY not in out + err


def test_logout_removes_the_profiles_saved_lists(profile: Profile, memory: MemoryKeyring) -> None:
    from lexi_tui.core import list_cache

    mine = [list_cache.cache_path(profile.name, url) for url in ("http://127.0.0.1:1/a", "http://127.0.0.1:2/b")]
    other = list_cache.cache_path("other", "http://127.0.0.1:1/a")
    for name, url in ((profile.name, "http://127.0.0.1:1/a"), (profile.name, "http://127.0.0.1:2/b"),
                      ("other", "http://127.0.0.1:1/a")):
        assert list_cache.save(name, url, [{"id": "t-1"}], fetched_at=1_700_000_000.0) is None
    code, out, err = run_logout(profile)
    assert code == 0 and err == ""
    assert out.startswith(f"Removed the saved lists of profile {profile.name}.\n")
    assert not any(path.exists() for path in mine) and other.exists()


def test_logout_without_a_keyring_exits_11(profile: Profile) -> None:
    code, out, err = run_logout(profile)
    assert code == Exit.KEYRING and out == ""
    assert "LEXI_API_KEY" in err and "keyrings.cryptfile" in err


def test_check_key_runs_inside_an_existing_loop(api: FakeAPI) -> None:
    """The UI awaits check_key on Textual's loop; it must not need a loop of its own."""

    async def main() -> None:
        await asyncio.gather(check_key(GOOD_KEY, api.base_url), check_key(GOOD_KEY, api.base_url))

    asyncio.run(main())
    assert len(api.requests) == 2


def test_a_chamelio_profile_is_warned_about_its_own_variable(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """logout names the variable of the profile's provider, not LEXI_API_KEY."""
    monkeypatch.setenv("CHAMELIO_API_KEY", "ca_live_0000000000000000abcd")
    code, _out, err = run_logout(Profile("legal", "https://platform.chamelio.ai", provider="chamelio"))
    assert code == Exit.OK
    assert "CHAMELIO_API_KEY is still set" in err and "ca_…abcd" in err and "0000abcd" not in err

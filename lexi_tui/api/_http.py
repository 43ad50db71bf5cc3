"""One HTTP base for both API clients: the key, the transport, sending, reading, errors.

`LexiClient` and `ChamelioClient` keep only their endpoints and their error envelope; all
the rest lives here, once:

* **The key**: refused when it is empty or holds a character a key cannot have (never echoed);
  registered with `text.register_secret` so `redact` masks it everywhere; only ever in the
  auth header, never in a repr, a message or a `ResponseInfo`. It is never sent over plain
  `http://` to a host that is not loopback unless `allow_insecure_http=True`
  (`errors.InsecureURLError` at construction).
* **The transport**: one shared `httpx.AsyncClient` (connections stay alive between polls),
  built on first use in a thread (loading the trust store reads files and takes ~20-40 ms);
  TLS always verified, `ca_bundle` for a corporate CA, `HTTPS_PROXY` / `NO_PROXY` /
  `SSL_CERT_FILE` honoured (`trust_env`; a plain-http loopback URL is always reached directly,
  so a proxy never sees its key in clear text); redirects are never followed; `transport`
  can be injected.
* **Every request has an overall deadline** (`deadline`, default 30 s: connect, send and the
  whole answer), so a body dripped one byte at a time cannot hold a refresh or a key press
  forever, and **a size cap** (`max_body`, default 64 MiB, checked on the declared length and
  while reading, after content decoding, so a gzip bomb is refused too).
* **Reads are retried, writes never**: a read (`_read`) is retried up to `read_retries`
  times with capped, jittered back-off on a retryable failure (transport errors other than
  TLS, 5xx), never on a 429, and only while the deadline of the first attempt has time left;
  a write (`_write`) is sent once, because an ambiguous failure may mean it was applied:
  the caller reads the server's state before saying what happened.
* **Server bytes are inert**: the reason phrase and every header value the client uses
  (`X-Request-ID`, `Retry-After`, `X-RateLimit-*`, `Content-Type`) are cleaned, capped and
  key-masked (`server_text`) where they are read; numbers come from `ratelimit` (never
  raising); error messages are built from such text only.
* **Decoding** (`_json.decode`) runs in a thread for bodies over 128 KiB, parsing included.
* **Listeners** get one `ResponseInfo` per request, failed ones included.
"""

from __future__ import annotations

import abc
import asyncio
import ipaddress
import logging
import platform
import random
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import httpx

from lexi_tui import __version__
from lexi_tui.api import collector, errors
from lexi_tui.api._json import Decoded, decode
from lexi_tui.api.ratelimit import RateLimit, retry_after_seconds
from lexi_tui.api.responses import ResponseInfo, ResponseListener
from lexi_tui.api.text import clean, clean_any, clip, mask_key, one_line, redact, register_secret

USER_AGENT = f"lexi-tui/{__version__} (httpx/{httpx.__version__}; Python/{platform.python_version()})"
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
"""Per operation (connect, each read, each write); `deadline` bounds the whole request."""
DEFAULT_DEADLINE = 30.0
"""Seconds one request may take in all: connect, send and the whole answer."""
DEFAULT_MAX_BODY = 64 * 1024 * 1024
"""Largest answer body (after content decoding) the client reads, in bytes."""

THREAD_DECODE_BYTES = 128 * 1024
"""Bodies above this size are decoded (and parsed) in a thread, off the event loop."""
FREEZE_PARSED_BYTES = 1024 * 1024
"""Bodies above this size (some 2,000 tasks) are decoded value by value (`decode(piecewise=True)`:
one `json.loads` of 50,000 tasks holds the interpreter lock, so the loop, for over 100 ms) and
parsed with the garbage collector paused, what they made frozen out of it
(`api.collector.parsing_large`): the collections the new objects would trigger would otherwise
scan the whole new list, holding the loop 100 ms+ too."""
REQUEST_ID_CHARS = 120
HEADER_CHARS = 64
REASON_CHARS = 80
CONTENT_TYPE_CHARS = 80
MESSAGE_CHARS = 500
CODE_CHARS = 64
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")
"""The rate-limit headers a `ResponseInfo` reports (cleaned, capped), when present."""

_log = logging.getLogger(__name__)
T = TypeVar("T")




@dataclass(frozen=True, slots=True)
class Meta:
    """What the client takes from an answer's status line and headers, all of it cleaned."""

    status: int
    reason: str
    request_id: str | None
    rate_limit: RateLimit | None
    retry_after: float | None
    content_type: str
    rate_headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Envelope:
    """What an error body said, in a client's own envelope (all text cleaned)."""

    code: str | None = None
    message: str | None = None
    details: Any = None
    retry_after: float | None = None
    error_class: type[errors.APIError] | None = None
    """Overrides the class chosen from the status and code (Chamelio's 422)."""


def server_text(value: str, limit: int) -> str:
    """Text from the server for a message, a header field or a log: cleaned to one line,
    with any key masked (`text.redact`: a server echoing the key must not show it), at most
    `limit` characters."""
    return clip(redact(clean(value[: limit * 4], multiline=False)), limit)


class Unexpected(Exception):
    """Raised by a parse function: the answer is valid JSON but not the documented shape.
    `what` says in words what is wrong ("no task object in the answer")."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def check_key(api_key: str) -> None:
    """Refuse a key that cannot be one, without echoing it (it may be a pasted secret)."""
    if (not isinstance(api_key, str) or not api_key or not api_key.isascii() or not api_key.isprintable()
            or " " in api_key):
        raise ValueError("The API key is empty or contains characters a key cannot have.")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped), and the name `localhost`."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


class _Trace:
    """httpcore's trace hook: whether the request may have reached the server.

    "http11.send_request_headers.started" (or http2's) marks the moment bytes may go out.
    With an injected transport no event ever comes, and the answer is the safe one: it may.
    """

    __slots__ = ("seen", "sending")

    def __init__(self) -> None:
        self.seen = False
        self.sending = False

    async def __call__(self, name: str, info: Mapping[str, Any]) -> None:
        self.seen = True
        if name.endswith("send_request_headers.started"):
            self.sending = True

    @property
    def may_have_sent(self) -> bool:
        return self.sending or not self.seen


class HttpClient(abc.ABC):
    """The shared base of `LexiClient` and `ChamelioClient` (see the module docstring).

    Args:
        api_key: the key; travels only in the header `_auth_headers` builds.
        base_url: the API's base URL (the subclass's `default_base_url` when None).
        timeout: httpx's per-operation timeouts.
        deadline: seconds one request may take in all (None: no overall deadline).
        max_body: largest answer body in bytes; a larger one is a MalformedResponseError.
        read_retries: extra attempts for a read after a retryable failure.
        verify: TLS verification (True, or an `ssl.SSLContext`); False is refused.
        ca_bundle: a PEM file of CA certificates to trust instead of the default store.
        transport: an httpx transport to use instead of the network (tests, tooling).
        allow_insecure_http: allow a plain `http://` base URL to a host that is not loopback.
        trust_env: honour proxy and certificate environment variables.
    """

    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        max_body: int = DEFAULT_MAX_BODY,
        read_retries: int = 2,
        verify: ssl.SSLContext | bool = True,
        ca_bundle: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        allow_insecure_http: bool = False,
        trust_env: bool = True,
    ) -> None:
        check_key(api_key)
        if verify is False:
            raise ValueError("TLS verification cannot be turned off; trust a private CA with ca_bundle instead.")
        if deadline is not None and not deadline > 0:
            raise ValueError(f"deadline must be a number of seconds > 0 or None, not {deadline!r}")
        if max_body <= 0:
            raise ValueError(f"max_body must be a number of bytes > 0, not {max_body!r}")
        self._api_key = api_key
        register_secret(api_key)  # Masked wherever text is shown or written (`redact`).
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        url = self._check_url(self.base_url, allow_insecure_http)
        self._base_path = url.raw_path.rstrip(b"/")
        direct = url.scheme == "http" and is_loopback(url.host)
        self.read_retries = read_retries
        self.deadline = deadline
        self.max_body = max_body
        self.rate_limit: RateLimit | None = None
        """The budget as of the latest response that carried rate-limit headers."""
        self.last_request_id: str | None = None
        """`X-Request-ID` of the latest answer (cleaned), for support."""
        self._listeners: list[ResponseListener] = []
        self._options: dict[str, Any] = dict(
            timeout=timeout, verify=verify, ca_bundle=ca_bundle, transport=transport,
            trust_env=trust_env and not direct,
        )
        self._http: httpx.AsyncClient | None = None
        self._closed = False

    # -- what subclasses provide -------------------------------------------------------------

    @abc.abstractmethod
    def _auth_headers(self, api_key: str) -> dict[str, str]:
        """The headers that carry the key."""

    @abc.abstractmethod
    def _envelope(self, body: Any, status: int) -> Envelope:
        """Read the client's error envelope from a decoded error body (None if not JSON)."""

    def _success_problem(self, body: Any) -> str | None:
        """What is wrong with a 2xx body's outer shape, or None when it is the documented one."""
        return None if isinstance(body, dict) else "JSON of an unexpected shape"

    # -- the public surface --------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={mask_key(self._api_key)!r})"

    @property
    def masked_key(self) -> str:
        """The key as the app shows it: prefix and last four (`text.mask_key`)."""
        return mask_key(self._api_key)

    async def __aenter__(self: _Self) -> _Self:
        await self._client()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections; the client cannot be used afterwards."""
        self._closed = True
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def add_listener(self, listener: ResponseListener) -> None:
        """Call `listener(info)` once per request (failed ones included), on the caller's loop.
        A listener that raises is logged and does not change the request's outcome."""
        self._listeners.append(listener)

    def remove_listener(self, listener: ResponseListener) -> None:
        """Stop calling `listener` (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def replay(self, heard: Sequence[ResponseInfo]) -> None:
        """Answers another client with this key got for a call made on this one's behalf
        (`providers.first_fetch`: the first list, fetched by a second process): kept as if they
        came here (the last request id, the rate limit) and told to every listener, in order.

        Args:
            heard: the other client's `ResponseInfo`s, one per request it sent.
        """
        for info in heard:
            self.last_request_id = info.request_id
            if info.rate_limit is not None:
                self.rate_limit = info.rate_limit
            self._notify(info)

    # -- plumbing --------------------------------------------------------------------------------

    @staticmethod
    def _check_url(base_url: str, allow_insecure_http: bool) -> httpx.URL:
        try:
            url = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise ValueError(f"{one_line(str(base_url), 100)!r} is not a URL") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"{one_line(base_url, 100)!r} is not an http:// or https:// URL")
        if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
            raise errors.InsecureURLError(url.host)
        return url

    def _build(self) -> httpx.AsyncClient:
        options = self._options
        verify: ssl.SSLContext | bool = options["verify"]
        if options["ca_bundle"]:
            # A corporate CA replaces the default trust store; verification stays on.
            verify = ssl.create_default_context(cafile=options["ca_bundle"])
        headers = {**self._auth_headers(self._api_key), "User-Agent": USER_AGENT, "Accept": "application/json"}
        return httpx.AsyncClient(
            base_url=self.base_url, headers=headers, timeout=options["timeout"], verify=verify,
            transport=options["transport"], trust_env=options["trust_env"], follow_redirects=False,
        )

    async def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed")
        http = self._http
        if http is None:
            try:
                if self._options["transport"] is not None and not self._options["ca_bundle"]:
                    built = self._build()
                else:
                    built = await asyncio.to_thread(self._build)
            except (OSError, ssl.SSLError) as exc:
                raise errors.TLSError(
                    f"The CA bundle {one_line(str(self._options['ca_bundle']), 200)!r} could not be loaded "
                    f"({one_line(str(exc), 160) or type(exc).__name__})"
                ) from exc
            http = self._adopt(built)
            if http is not built:  # Another request built one meanwhile, or the client was closed.
                await built.aclose()
            if http is None:
                raise RuntimeError(f"this {type(self).__name__} is closed")
        return http

    def _adopt(self, built: httpx.AsyncClient) -> httpx.AsyncClient | None:
        """Keep `built` unless a client is already in use or closing began; the one in use."""
        if self._http is None and not self._closed:
            self._http = built
        return self._http

    async def _read(self, method: str, path: str, parse: Callable[[Decoded], T], *,
                    params: Mapping[str, str] | None = None) -> T:
        """A read: retried on retryable failures (never 429), within one deadline."""
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                return await self._request(method, path, parse, params=params)
            except errors.LexiError as exc:
                attempt += 1
                pause = random.uniform(0, min(2.0, 0.25 * 2**attempt))  # capped, full jitter
                if not self._retry(exc, attempt, time.monotonic() - started + pause):
                    raise
                await asyncio.sleep(pause)

    def _retry(self, error: errors.LexiError, attempt: int, elapsed: float) -> bool:
        if isinstance(error, errors.RateLimitedError) or not error.retryable or attempt > self.read_retries:
            return False
        return self.deadline is None or elapsed < self.deadline

    async def _write(self, method: str, path: str, parse: Callable[[Decoded], T], *,
                     json: Any = None) -> T:
        """A write: sent once, never retried here."""
        return await self._request(method, path, parse, json=json)

    async def _request(self, method: str, path: str, parse: Callable[[Decoded], T], *,
                       params: Mapping[str, str] | None = None, json: Any = None) -> T:
        http = await self._client()
        label = f"{method} {path}"
        trace = _Trace()
        try:
            request = http.build_request(method, path, params=params, json=json, extensions={"trace": trace})
        except UnicodeEncodeError as exc:
            raise ValueError(f"{label}: the request holds text that is not valid Unicode") from exc
        shown_path = self._shown_path(request)
        started = time.monotonic()
        meta: Meta | None = None
        envelope_code: str | None = None
        failure: errors.LexiError | None = None
        cancelled = False
        try:
            try:
                async with asyncio.timeout(self.deadline):
                    response = await self._send(http, request, label, trace)
                    try:
                        meta = self._meta(response)
                        self._note(meta)
                        content = await self._body(response, meta, label)
                    finally:
                        await response.aclose()
            except TimeoutError:
                raise errors.RequestTimeoutError(
                    f"{label}: no complete answer within {self.deadline:g} s", sent=trace.may_have_sent,
                ) from None
            answer = meta
            if not answer.ok:
                error, envelope_code = await self._decoded(
                    content, lambda decoded: self._api_error(answer, decoded, content, label))
                raise error
            return await self._decoded(content, lambda decoded: self._success(answer, decoded, content, label, parse))
        except errors.LexiError as exc:
            failure = exc
            raise
        except asyncio.CancelledError:
            cancelled = True  # The caller gave up (the app is closing): it may have been sent.
            raise
        finally:
            kind = failure.kind if isinstance(failure, errors.TransportError) else None
            self._notify(ResponseInfo(
                method=method, path=shown_path, status=meta.status if meta else None,
                request_id=meta.request_id if meta else None, rate_limit=meta.rate_limit if meta else None,
                elapsed=time.monotonic() - started, rate_headers=dict(meta.rate_headers) if meta else {},
                error_code=envelope_code,
                failure_kind="cancelled" if cancelled else kind,
                error="cancelled" if cancelled else failure.code if failure is not None else None,
            ))

    async def _send(self, http: httpx.AsyncClient, request: httpx.Request, label: str,
                    trace: _Trace) -> httpx.Response:
        try:
            return await http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, label, trace) from exc

    async def _body(self, response: httpx.Response, meta: Meta, label: str) -> bytes:
        """The whole body, refused past `max_body` (declared or counted) without buffering it all."""
        declared = response.headers.get("content-length", "")
        if declared.strip().isdigit() and len(declared.strip()) < 20 and int(declared) > self.max_body:
            raise self._too_large(meta, label)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_body:
                    raise self._too_large(meta, label)
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise errors.MalformedResponseError(
                f"{label}: the answer could not be decoded (content encoding "
                f"{one_line(response.headers.get('content-encoding', ''), 40)!r})",
                status=meta.status, request_id=meta.request_id, rate_limit=meta.rate_limit,
            ) from exc
        except httpx.TimeoutException as exc:
            raise errors.RequestTimeoutError(
                f"{label}: the answer (HTTP {meta.status}) stopped arriving", sent=True) from exc
        except httpx.HTTPError as exc:
            raise errors.TransportError(
                f"{label}: the connection was dropped in the middle of the answer (HTTP {meta.status})", sent=True,
            ) from exc
        return b"".join(chunks)

    def _too_large(self, meta: Meta, label: str) -> errors.MalformedResponseError:
        return errors.MalformedResponseError(
            f"{label}: the answer was too large (over {_size(self.max_body)})",
            status=meta.status, request_id=meta.request_id, rate_limit=meta.rate_limit,
        )

    async def _decoded(self, content: bytes, then: Callable[[Decoded], T]) -> T:
        """`then(decode(content))`, in a thread when the body is large (and for a very large
        one with the garbage collector paused, its objects frozen: `api.collector`)."""
        if len(content) > FREEZE_PARSED_BYTES:
            def parse_frozen() -> T:
                with collector.parsing_large():
                    return then(decode(content, piecewise=True))

            return await asyncio.to_thread(parse_frozen)
        if len(content) > THREAD_DECODE_BYTES:
            return await asyncio.to_thread(lambda: then(decode(content)))
        return then(decode(content))

    def _success(self, meta: Meta, decoded: Decoded, content: bytes, label: str,
                 parse: Callable[[Decoded], T]) -> T:
        problem = describe(meta, decoded, content) if not decoded.valid else self._success_problem(decoded.value)
        if problem is None:
            try:
                return parse(decoded)
            except Unexpected as exc:
                problem = exc.what
        raise errors.MalformedResponseError(
            f"{label}: the server's answer was not the documented JSON ({problem})",
            status=meta.status, request_id=meta.request_id, rate_limit=meta.rate_limit,
        )

    def _api_error(self, meta: Meta, decoded: Decoded, content: bytes,
                   label: str) -> tuple[errors.APIError, str | None]:
        """The error for a non-2xx answer, and the envelope's own code (None if it had none)."""
        envelope = self._envelope(decoded.value if decoded.valid else None, meta.status)
        cls = envelope.error_class or errors.error_class(meta.status, envelope.code)
        message = envelope.message or (
            f"{label}: HTTP {meta.status} {meta.reason or 'error'} ({describe(meta, decoded, content)})"
        )
        kwargs: dict[str, Any] = dict(status=meta.status, code=envelope.code, details=envelope.details,
                                      request_id=meta.request_id, rate_limit=meta.rate_limit)
        if cls is errors.RateLimitedError:
            retry_after = meta.retry_after if meta.retry_after is not None else envelope.retry_after
            return errors.RateLimitedError(message, retry_after=retry_after, **kwargs), envelope.code
        return cls(message, **kwargs), envelope.code

    def _meta(self, response: httpx.Response) -> Meta:
        headers = response.headers
        rate_headers = {name: server_text(value, HEADER_CHARS) for name in RATE_HEADERS
                        if (value := headers.get(name)) is not None}
        request_id = headers.get("x-request-id")
        return Meta(
            status=response.status_code,
            reason=server_text(response.reason_phrase, REASON_CHARS),
            request_id=server_text(request_id, REQUEST_ID_CHARS) or None if request_id is not None else None,
            rate_limit=RateLimit.from_headers(rate_headers),
            retry_after=retry_after_seconds(rate_headers.get("retry-after")),
            content_type=server_text(headers.get("content-type", ""), CONTENT_TYPE_CHARS),
            rate_headers=rate_headers,
        )

    def _note(self, meta: Meta) -> None:
        self.last_request_id = meta.request_id
        if meta.rate_limit is not None:
            self.rate_limit = meta.rate_limit

    def _shown_path(self, request: httpx.Request) -> str:
        raw = request.url.raw_path
        if self._base_path and raw.startswith(self._base_path):
            raw = raw[len(self._base_path):]
        return raw.decode("ascii", "replace")

    def _notify(self, info: ResponseInfo) -> None:
        for listener in list(self._listeners):
            try:
                listener(info)
            except Exception:  # A display or log failing must not turn an applied write into an error.
                _log.exception("a response listener failed")


_Self = TypeVar("_Self", bound=HttpClient)


def describe(meta: Meta, decoded: Decoded, content: bytes) -> str:
    """Say in words what came back instead of the documented JSON."""
    if decoded.valid:
        return "JSON of an unexpected shape"
    if decoded.problem == "empty body":
        return "empty body"
    head = content[:200].lstrip().lower()
    if "html" in meta.content_type.lower() or head.startswith((b"<!doctype", b"<html")):
        return "an HTML page, probably from a gateway"
    if meta.content_type and "json" not in meta.content_type.lower():
        return f"invalid or truncated JSON, sent as {meta.content_type}"
    return "invalid or truncated JSON"


def error_text(value: Any) -> str | None:
    """An error message from an envelope (`server_text`); None when empty or not a string."""
    if not isinstance(value, str) or not value.strip():
        return None
    return server_text(value.strip(), MESSAGE_CHARS)


def error_code(value: Any) -> str | None:
    """An error code from an envelope (`server_text` of its JSON text); None when empty."""
    if value is None:
        return None
    return server_text(clean_any(value, multiline=False), CODE_CHARS) or None


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MiB"
    if count >= 1024:
        return f"{count / 1024:g} KiB"
    return f"{count} bytes"


def _transport_error(exc: httpx.HTTPError, label: str, trace: _Trace) -> errors.TransportError:
    sent = trace.may_have_sent
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            what = "could not connect in time" if isinstance(exc, httpx.ConnectTimeout) else "no connection was free in time"
            return errors.RequestTimeoutError(f"{label}: {what}", sent=False)
        if isinstance(exc, httpx.WriteTimeout):
            return errors.RequestTimeoutError(f"{label}: sending the request took too long", sent=sent)
        return errors.RequestTimeoutError(f"{label}: the server did not answer in time", sent=sent)
    if isinstance(exc, httpx.ProxyError):
        return errors.ConnectError(f"{label}: the proxy refused the request ({_cause(exc)})")
    if isinstance(exc, httpx.ConnectError):
        if _is_tls(exc):
            return errors.TLSError(f"{label}: TLS verification failed ({_cause(exc)})")
        return errors.ConnectError(f"{label}: could not connect ({_cause(exc)})")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return errors.ConnectError(f"{label}: {_cause(exc)}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return errors.TransportError(f"{label}: the connection was dropped before an answer", sent=sent)
    return errors.TransportError(f"{label}: {type(exc).__name__}", sent=sent)


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE" in str(exc).upper() or "SSL" in str(exc).upper()


def _cause(exc: BaseException) -> str:
    return one_line(str(exc), 160) or type(exc).__name__

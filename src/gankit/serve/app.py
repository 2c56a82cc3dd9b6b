"""The web app of `gankit serve`: one page (page.html, plain JavaScript, nothing loaded from elsewhere) and an HTTP
API, `/api/info` and one `/api/NAME` per endpoint of the model's tasks (endpoints.py), on Starlette.

Concurrency: the event loop reads requests and uploads concurrently; model calls (decoding the upload, the
network, encoding the PNG) run in worker threads, `Limits.workers` at once (default 1: on a CPU, torch already
spreads one call over every core), and up to `Limits.queue` more wait their turn. A model call past that is
refused at once with 503 and a Retry-After header, so a burst never piles up unbounded work. The model is loaded
once, before the first request, and shared by every request."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import math
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..errors import GankitError, TaskError, unknown
from .endpoints import ENDPOINTS, Endpoint, endpoints_of, parse_params
from .uploads import UploadError, read_body, read_image

PAGE = Path(__file__).with_name("page.html")
log = logging.getLogger("gankit.serve")


@dataclass(frozen=True)
class Limits:
    """What one server takes: upload bytes, image pixels (an upscaler's input: this over its scale squared, so the
    output is bounded too), model calls at once and waiting."""

    max_upload_bytes: int = 16 * 2**20
    max_pixels: int = 12_000_000  # a 12-megapixel phone photo
    workers: int = 1
    queue: int = 8
    body_seconds: float = 30.0  # an upload slower than this is refused (408): slow senders cannot hold slots

    def __post_init__(self) -> None:
        if self.workers != 1:  # requests set the model's mode (pix2pix's test mode) and seed its noise in turn
            raise ValueError("gankit serve runs one model call at a time (workers=1); requests share the model")

    def describe(self) -> dict[str, int]:
        return {"max_upload_bytes": self.max_upload_bytes, "max_pixels": self.max_pixels,
                "model_calls_at_once": self.workers, "model_calls_waiting": self.queue}


class Busy(GankitError):
    """Every worker is busy and the queue is full."""


class Gate:
    """At most `workers` model calls run at once (threads) and `queue` more wait; past that, Busy. The counter is
    only touched on the event loop, so it needs no lock."""

    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        self.admitted = 0
        self._limiter: anyio.CapacityLimiter | None = None

    def check(self) -> None:
        if self.admitted >= self.workers + self.queue:
            raise Busy(f"busy: {self.workers} model call(s) running and {self.queue} waiting; try again shortly")

    async def run(self, work: Callable[[], Any]) -> Any:
        self.check()
        if self._limiter is None:  # made on the event loop that serves (anyio needs one to make it)
            self._limiter = anyio.CapacityLimiter(self.workers)
        self.admitted += 1
        try:
            return await anyio.to_thread.run_sync(work, limiter=self._limiter)
        finally:
            self.admitted -= 1


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def finite(value: Any) -> Any:
    """`value` with every NaN and infinity as None: JSON has no such numbers, and a diverged model's are still an
    answer (null), not a server error."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def create_app(model, limits: Limits = Limits(), allowed_hosts: list[str] | None = None) -> Starlette:
    """The app serving `model` (a `gankit.load` Model). `allowed_hosts`: the Host headers answered (a server on
    127.0.0.1 answers only to local names, so a web page elsewhere cannot reach it by DNS rebinding); None: any."""
    endpoints = endpoints_of(model)
    # Parameters and their defaults as the model is now: a request may change a mode (pix2pix's test mode), the
    # next one's default stays the model's own.
    params = {name: endpoint.params(model) for name, endpoint in endpoints.items()}
    gate = Gate(limits.workers, limits.queue)
    image = {"size": model.info.img_size, "channels": model.info.img_channels} if model.info.is_image else None
    info = {"gankit": __version__, "model": model.cfg.name, "tasks": list(model.tasks), "image": image,
            "limits": limits.describe(), "endpoints": [e.describe(params[name]) for name, e in endpoints.items()]}

    def work(endpoint: Endpoint, values: dict[str, Any], body: bytes) -> tuple[str, bytes]:
        """In a worker thread: decode the upload, run the model, encode the answer."""
        x = None
        if endpoint.upload:
            x = read_image(body, endpoint.channels(model, values), limits.max_pixels // endpoint.growth(model))
        result = endpoint.run(model, values, x)
        if endpoint.returns == "json":
            return "application/json", json.dumps(finite(result), allow_nan=False).encode()
        buffer = io.BytesIO()
        result.save(buffer, format="PNG")
        return "image/png", buffer.getvalue()

    page_html = PAGE.read_text(encoding="utf-8")

    async def page(request: Request) -> Response:
        return HTMLResponse(page_html)

    async def describe(request: Request) -> Response:
        return JSONResponse(info)

    async def api(request: Request) -> Response:
        name = request.path_params["name"]
        endpoint = endpoints.get(name)
        if endpoint is None:
            task = next((task for task, group in ENDPOINTS.items() if any(e.name == name for e in group)), None)
            message = str(TaskError(model.cfg.name, task, model.tasks)) if task else \
                unknown("endpoint", name[:40], endpoints)
            return _error(404, message)
        if request.method == "HEAD":  # Starlette answers HEAD on GET routes; here it would run the model
            return _error(405, f"/api/{name}: use {'POST' if endpoint.upload else 'GET or POST'}",
                          Allow="POST" if endpoint.upload else "GET, POST")
        if request.method != "POST" and endpoint.upload:
            return _error(405, f"/api/{name} takes an image: POST it as the request body", Allow="POST")
        try:
            values = parse_params(name, params[name], dict(request.query_params))
            gate.check()  # before the body is read: a request that would be refused uploads nothing
            body = b""
            if endpoint.upload:
                try:
                    with anyio.fail_after(limits.body_seconds):
                        body = await read_body(request.stream(), request.headers.get("content-length"),
                                               limits.max_upload_bytes)
                except TimeoutError:
                    return _error(408, f"upload too slow: not received within {limits.body_seconds:g} s")
            media_type, content = await gate.run(lambda: work(endpoint, values, body))
        except UploadError as e:
            return _error(e.status, str(e))
        except Busy as e:
            return _error(503, str(e), **{"Retry-After": "1"})
        except GankitError as e:
            return _error(400, str(e))
        except Exception as e:  # a bug, not the user's: logged in full, answered in one line, the server goes on
            log.exception("/api/%r failed", name)
            return _error(500, f"internal error ({type(e).__name__}); the server keeps serving")
        return Response(content, media_type=media_type)

    routes = [Route("/", page), Route("/api/info", describe), Route("/api/{name}", api, methods=["GET", "POST"])]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    app = Starlette(routes=routes, middleware=middleware)
    app.state.model, app.state.gate = model, gate
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> list[str] | None:
    """The Host headers a server bound to `host` answers: its own address and the local names, so a web page
    elsewhere cannot reach it through DNS rebinding; None (any) only when bound to every interface."""
    if host in ("0.0.0.0", "::", ""):
        return None
    own = [host, f"[{host}]"] if ":" in host else [host]
    local = ["localhost", "127.0.0.1", "::1", "[::1]"] if is_loopback(host) else []
    return list(dict.fromkeys([*own, *local]))


def make_server(model, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits()):
    """(a uvicorn Server serving `model`, its bound socket, its URL). The port is bound here, so a port in use is a
    one-line error before anything starts (port 0: a free one)."""
    import uvicorn

    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)  # connections made before uvicorn has started wait in the backlog, not refused
    except (OSError, OverflowError) as e:
        raise GankitError(f"cannot listen on {host}:{port} ({getattr(e, 'strerror', None) or e}); choose another "
                          "--port or --host") from None
    allowed = allowed_hosts(host)
    # uvicorn's own cap: past 64 open connections it answers 503 before the app sees the request
    config = uvicorn.Config(create_app(model, limits, allowed_hosts=allowed), log_level="warning",
                            limit_concurrency=64, timeout_keep_alive=5)
    shown = f"[{host}]" if ":" in host else host
    return uvicorn.Server(config), sock, f"http://{shown}:{sock.getsockname()[1]}/"


def run_server(model, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits()) -> None:
    """Serve `model` until Ctrl-C."""
    server, sock, url = make_server(model, host, port, limits)
    print(f"gankit serve: {model.cfg.name} ({', '.join(model.tasks)}) at {url} ; Ctrl-C stops", flush=True)
    if not is_loopback(host):
        print(f"gankit serve: warning: listening on {host}: anyone who can reach this machine can use the model "
              "(there is no authentication)", file=sys.stderr)
    server.run(sockets=[sock])

"""The application factory: ``create_app(settings, config, db_url)`` → a FastAPI app.

The lifespan builds the :class:`~mxtls.web.service.WebService` (one runtime,
the store, the check queue) on the server's own event loop and takes it
down gracefully: no new checks, running ones get ``grace_s`` to finish, the
rest are marked interrupted in the store (their permalinks say so).  The
interactive API docs are off (they load scripts from elsewhere, which the
Content-Security-Policy forbids); ``/openapi.json`` describes the API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from mxtls._version import __version__
from mxtls.config import CheckConfig
from mxtls.store.db import Store, open_store
from mxtls.web import api, pages
from mxtls.web.middleware import Gate
from mxtls.web.service import WebService
from mxtls.web.settings import WebSettings

MAX_ERROR_ITEMS = 5


def create_app(
    settings: WebSettings,
    config: CheckConfig,
    db_url: str | None = None,
    *,
    store: Store | None = None,
) -> FastAPI:
    """The web checker and JSON API as an ASGI application.

    Args:
        settings: limits, rates and trust (see :class:`WebSettings`).
        config: the runtime's settings (resolver, trust store, timeouts);
            without ``settings.allow_private`` its address policy becomes
            :data:`~mxtls.net.guard.PUBLIC_ONLY`.
        db_url: the history database (default: the monitor's SQLite file).
        store: an open store to use instead (tests); closed with the app.

    Raises:
        ConfigError: an unusable database URL (when the app starts).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store if store is not None else open_store(db_url)
        web = WebService(settings, config, opened)
        await web.checks.start()
        app.state.web = web
        try:
            yield
        finally:
            await web.checks.aclose(settings.grace_s)
            opened.close()

    app = FastAPI(
        title="mxtls",
        version=__version__,
        summary="Is mail to a domain protected in transit, and will strict senders deliver?",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = None
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(Gate, service=lambda: app.state.web)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if request.url.path.startswith(("/api/", "/tlsrpt")) or exc.status_code != 404:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    web = request.app.state.web
    return pages.page(web, "error.html", 404, title="Not found", message=str(exc.detail))


async def _validation_error(request: Request, exc: Exception) -> Response:
    """422 with the reasons in words (never the input echoed back at length)."""
    assert isinstance(exc, RequestValidationError)
    errors: list[dict[str, Any]] = []
    for error in exc.errors()[:MAX_ERROR_ITEMS]:
        where = ".".join(str(p) for p in error.get("loc", ()))
        errors.append({"loc": where, "msg": str(error.get("msg", ""))[:300]})
    return JSONResponse({"detail": errors}, status_code=422)

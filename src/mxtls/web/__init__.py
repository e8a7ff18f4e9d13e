"""The web checker and JSON API (``mxtls serve``): FastAPI, served by uvicorn.

Modules: :mod:`~mxtls.web.app` (the factory), :mod:`~mxtls.web.service`
(what routes share, by dependency injection), :mod:`~mxtls.web.jobs` (the
bounded, shared check queue), :mod:`~mxtls.web.api` (JSON, TLS-RPT,
health, metrics), :mod:`~mxtls.web.pages` (HTML), :mod:`~mxtls.web.limits`
and :mod:`~mxtls.web.middleware` (rates, sizes, headers, access log).
Imported only by ``mxtls serve``: the rest of mxtls never loads FastAPI.
"""

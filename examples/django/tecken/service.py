"""The process's store and symbolicator, made on first use from the settings.

Made lazily, so gunicorn's master imports the app without opening anything and each
worker makes its own after ``fork()``; keyed on the settings, so a test that overrides
them gets objects of its own.
"""

from __future__ import annotations

import functools

import tecken_core
from django.conf import settings


@functools.lru_cache(maxsize=8)
def _store(spec: str) -> tecken_core.SymbolStore:
    return tecken_core.SymbolStore.open(spec)


@functools.lru_cache(maxsize=8)
def _symbolicator(
    store_spec: str, symbols: str | None, cache_dir: str | None, max_body_bytes: int
) -> tecken_core.Symbolicator:
    # Reading through the store object shares its missing-symbols record with downloads.
    sources = _store(store_spec) if symbols is None else symbols.split(",")
    return tecken_core.Symbolicator(sources, cache_dir=cache_dir, max_body_bytes=max_body_bytes)


@functools.lru_cache(maxsize=8)
def _sessions(directory: str) -> tecken_core.UploadSessions:
    return tecken_core.UploadSessions(directory)


def upload_sessions() -> tecken_core.UploadSessions:
    """Upload API v2 sessions in ``TECKEN_UPLOAD_SESSIONS_DIR``."""
    return _sessions(settings.TECKEN_UPLOAD_SESSIONS_DIR)


def store() -> tecken_core.SymbolStore:
    """The symbol store of ``TECKEN_STORE``."""
    return _store(settings.TECKEN_STORE)


def symbolicator() -> tecken_core.Symbolicator:
    """The symbolicator over ``TECKEN_SYMBOLS`` (default: the store)."""
    return _symbolicator(
        settings.TECKEN_STORE,
        settings.TECKEN_SYMBOLS,
        settings.TECKEN_CACHE_DIR,
        settings.TECKEN_MAX_BODY_BYTES,
    )

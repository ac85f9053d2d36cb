"""Settings, from the environment (every ``TECKEN_*`` variable is optional).

| variable | meaning | default |
|---|---|---|
| ``TECKEN_STORE`` | the symbol store uploads go to and downloads read: a directory (Tecken's layout ``v1/...``), ``s3://bucket/prefix`` or ``https://...`` (read-only) | ``var/store`` beside this project |
| ``TECKEN_SYMBOLS`` | symbolication sources, comma-separated specs; a directory with ``v1/`` is a store, any other a plain ``{debug_file}/{debug_id}/{sym_file}`` tree | the store |
| ``TECKEN_CACHE_DIR`` | index cache shared by the worker processes | ``var/cache`` |
| ``TECKEN_UPLOAD_TOKEN`` | the ``Auth-Token`` uploads must send (``TOKEN-label`` works too, as in Tecken); unset: every upload is refused | unset |
| ``TECKEN_UPLOAD_USER`` | who that token belongs to (an email), as ``/upload/auth_info/`` answers | empty |
| ``TECKEN_UPLOAD_URL_HOSTS`` | comma-separated hosts an upload by download URL (the ``url`` field) may fetch from, Tecken's ``ALLOW_UPLOAD_BY_DOWNLOAD_DOMAINS`` | none: refused |
| ``TECKEN_UPLOAD_URL_HTTP`` | ``1`` lets those URLs be ``http://`` (a private network) | ``https://`` only |
| ``TECKEN_UPLOAD_API_VERSION`` | what ``/upload/auth_info/`` announces to Mozilla's ``upload-symbols`` client: ``1`` (``POST /upload/`` with a zip) or ``2`` (a resumable session per file, ``/upload/v2/``); both are served | ``1`` |
| ``TECKEN_UPLOAD_SESSIONS_DIR`` | upload API v2 sessions, shared by the worker processes | ``var/upload-sessions`` |
| ``TECKEN_DOWNLOAD_URL`` | public URL of the store (``https://bucket.example/``): downloads answer 302 to ``{url}v1/{key}``; unset: files are served by the app | unset |
| ``TECKEN_BENCH_ROUTES`` | ``1`` adds the load test's ``POST /bench/v5-bytes`` (a v5-sized answer without lookups: the HTTP floor of v5) | off: 404 |
| ``TECKEN_SECRET_KEY``, ``TECKEN_DEBUG``, ``TECKEN_ALLOWED_HOSTS`` | Django's own | a fixed dev key, off, ``*`` |
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


# tecken_core ---------------------------------------------------------------------------
TECKEN_STORE = _env("TECKEN_STORE", str(HERE / "var" / "store"))
TECKEN_SYMBOLS = _env("TECKEN_SYMBOLS")  # None: the store
TECKEN_CACHE_DIR = _env("TECKEN_CACHE_DIR", str(HERE / "var" / "cache"))
TECKEN_UPLOAD_TOKEN = _env("TECKEN_UPLOAD_TOKEN")
TECKEN_UPLOAD_USER = _env("TECKEN_UPLOAD_USER") or ""
TECKEN_DOWNLOAD_URL = _env("TECKEN_DOWNLOAD_URL")
TECKEN_UPLOAD_URL_HOSTS = [h for h in (_env("TECKEN_UPLOAD_URL_HOSTS", "") or "").split(",") if h]
TECKEN_UPLOAD_URL_HTTP = _env("TECKEN_UPLOAD_URL_HTTP", "0") not in ("0", "false", "no")
TECKEN_UPLOAD_API_VERSION = int(_env("TECKEN_UPLOAD_API_VERSION", "1") or "1")
TECKEN_UPLOAD_SESSIONS_DIR = _env("TECKEN_UPLOAD_SESSIONS_DIR", str(HERE / "var" / "upload-sessions"))
# Eliot's limit: the symbolicate views read at most this many bytes plus one, so a larger
# body is answered 413 by the core without being read whole.
TECKEN_MAX_BODY_BYTES = 10 << 20
# The load test's floor route (benches/http/django.sh); never on in production.
TECKEN_BENCH_ROUTES = _env("TECKEN_BENCH_ROUTES", "0") not in ("0", "false", "no")

# Django --------------------------------------------------------------------------------
SECRET_KEY = _env("TECKEN_SECRET_KEY", "dev-only-not-secret")
DEBUG = _env("TECKEN_DEBUG", "0") not in ("0", "false", "no")
ALLOWED_HOSTS = (_env("TECKEN_ALLOWED_HOSTS", "*") or "*").split(",")
ROOT_URLCONF = "tecken.urls"
WSGI_APPLICATION = "tecken.wsgi.application"
# No database, sessions, auth or templates: the views need none, and every view (the
# minimal one the load test compares with included) goes through the same middleware.
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
USE_TZ = True
TIME_ZONE = "UTC"
# The symbolicate views read the body themselves, bounded (TECKEN_MAX_BODY_BYTES); uploads
# larger than 2.5 MB are spooled to a temporary file, whose path goes to the core.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"tecken": {"handlers": ["console"], "level": "INFO"}},
}

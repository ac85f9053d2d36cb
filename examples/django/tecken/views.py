"""Eliot's symbolication API and Tecken's upload and download APIs over ``tecken_core``.

Every rule (request validation, Eliot's exact JSON, upload checks, key rules, the Try area,
the code-id index) is the core's; a view reads the request, makes one call and writes the
answer in the status, headers and body shape of the service it stands in for.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import tecken_core
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import service

JSON = "application/json"


def lbheartbeat(request: HttpRequest) -> HttpResponse:
    """The minimal JSON view: the load test's baseline (Django alone)."""
    return JsonResponse({"status": "ok"})


# --- Eliot: POST /symbolicate/v5, /symbolicate/v4 ------------------------------------------


def _eliot(body: bytes, status: int) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type=JSON)
    # Eliot answers any origin (falcon's CORS middleware).
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _eliot_error(status: int, title: str) -> HttpResponse:
    return _eliot(b'{"title": "%d %s"}' % (status, title.encode()), status)


def _symbolicate(request: HttpRequest, version: int) -> HttpResponse:
    if request.method == "OPTIONS":
        # A CORS preflight, answered as falcon's CORS middleware does.
        response = _eliot(b"", 200)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        wanted = request.headers.get("Access-Control-Request-Headers")
        if wanted:
            response["Access-Control-Allow-Headers"] = wanted
        response["Access-Control-Max-Age"] = "86400"
        return response
    if request.method != "POST":
        response = _eliot_error(405, "Method Not Allowed")
        response["Allow"] = "POST, OPTIONS"
        return response
    # At most one byte past the limit: a larger body is the core's 413, never read whole.
    body = request.read(settings.TECKEN_MAX_BODY_BYTES + 1)
    sym = service.symbolicator()
    if version == 5:
        # Eliot turns debug output on for any non-empty Debug header, "false" included.
        # (META, not request.headers: building the headers mapping costs ~9 us a request,
        # a fifth of the core's work on a 40-frame request.)
        debug = bool(request.META.get("HTTP_DEBUG"))
        status, out = sym.symbolicate_v5_with_status(body, debug=debug)
    else:
        status, out = sym.symbolicate_v4_with_status(body)
    return _eliot(out, status)


@csrf_exempt
def symbolicate_v5(request: HttpRequest) -> HttpResponse:
    """Eliot's ``POST /symbolicate/v5``: the core's bytes and status."""
    return _symbolicate(request, 5)


@csrf_exempt
def symbolicate_v4(request: HttpRequest) -> HttpResponse:
    """Eliot's ``POST /symbolicate/v4``."""
    return _symbolicate(request, 4)


# The answer ``bench_v5_bytes`` repeats: the first one it computed (one per process).
_bench_answer: list[bytes] = []


@csrf_exempt
def bench_v5_bytes(request: HttpRequest) -> HttpResponse:
    """The load test's floor for v5 (only with ``TECKEN_BENCH_ROUTES``; else Eliot's 404):
    ``POST /bench/v5-bytes`` reads the body as the v5 view does and answers the same
    headers and a v5 answer of the same size, the first one it computed, with no lookup.
    Its requests/s next to the minimal view's is what the HTTP stack allows v5 when the
    core costs nothing."""
    if not settings.TECKEN_BENCH_ROUTES:
        return not_found(request)
    if request.method != "POST":
        return _eliot_error(405, "Method Not Allowed")
    body = request.read(settings.TECKEN_MAX_BODY_BYTES + 1)
    if not _bench_answer:
        status, out = service.symbolicator().symbolicate_v5_with_status(body, debug=False)
        if status != 200:
            return _eliot(out, status)
        _bench_answer.append(out)
    return _eliot(_bench_answer[0], 200)


# --- Tecken: POST /upload/ -----------------------------------------------------------------


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _token_error(request: HttpRequest) -> str | None:
    """Tecken's token checks: the message of the 403 to answer, or None. ``TOKEN-label``
    is ``TOKEN`` (the core's rule)."""
    token = request.headers.get("Auth-Token")
    if not token:
        return "This requires an Auth-Token to authenticate the request"
    if not tecken_core.auth_token_matches(settings.TECKEN_UPLOAD_TOKEN or "", token):
        return "API Token not matched"
    return None


def _vary(response: HttpResponse) -> HttpResponse:
    # The answer depends on the token, as Tecken's says.
    response["Vary"] = "Auth-Token"
    return response


@csrf_exempt
def upload(request: HttpRequest) -> HttpResponse:
    """Tecken's ``POST /upload/``: a multipart form whose first file is a symbols zip
    (its field name is the archive's name, as in Tecken), or a ``url`` field naming one on
    an allowed host (``TECKEN_UPLOAD_URL_HOSTS``); ``try`` for Try builds; an
    ``Auth-Token`` header of ``TECKEN_UPLOAD_TOKEN``. Statuses and ``{"error": ...}``
    messages are Tecken's."""
    return _vary(_upload(request))


def _upload_refusal(request: HttpRequest) -> HttpResponse | None:
    """Tecken's checks of an upload request (``/upload/``, ``/upload/v2/``): ``POST`` and
    the token. The answer when refused, else None."""
    if request.method != "POST":
        return _error(f"Method Not Allowed ({request.method}): {request.path}", 405)
    refused = _token_error(request)
    return _error(refused, 403) if refused else None


def _upload(request: HttpRequest) -> HttpResponse:
    refusal = _upload_refusal(request)
    if refusal:
        return refusal
    try_symbols = bool(request.POST.get("try") or "try" in request.GET)
    created = datetime.now(timezone.utc)
    url = request.POST.get("url")
    try:
        if request.FILES:
            name, uploaded = next(iter(request.FILES.items()))
            # Large uploads are spooled to a temporary file by Django: the core reads it in place.
            path = getattr(uploaded, "temporary_file_path", None)
            archive = path() if path else uploaded.read()
            result = service.store().upload_archive(archive, try_=try_symbols, archive_name=name)
        elif url:
            # Tecken's upload by download URL: the core checks the URL and every redirect
            # against the allow-list, bounds the size, and answers with Tecken's messages.
            result = service.store().upload_archive_from_url(
                url,
                allowed_hosts=settings.TECKEN_UPLOAD_URL_HOSTS,
                allow_http=settings.TECKEN_UPLOAD_URL_HTTP,
                try_=try_symbols,
            )
            name = result["archive_name"]
        else:
            return _error("Must be multipart form data with at least one file", 400)
    except tecken_core.TeckenError as e:
        return _error(str(e), e.status)
    # Modules this worker found missing before the upload are looked for again at once.
    service.symbolicator().forget_uploaded(result)
    return JsonResponse(
        {
            "upload": {
                # No database here: the archive's content hash stands in for Tecken's row id.
                "id": result["content_hash"],
                "size": result["archive_size"],
                "filename": name,
                "bucket": settings.TECKEN_STORE,
                "download_url": result.get("download_url"),
                "try_symbols": result["try_symbols"],
                "redirect_urls": result.get("redirect_urls", []),
                "completed_at": _iso(datetime.now(timezone.utc)),
                "created_at": _iso(created),
                "user": None,
                "uploaded_keys": [f["key"] for f in result["uploaded"]],
                # Archive member names, as Tecken lists them.
                "skipped_keys": [f["member"] for f in result["skipped"]],
                "ignored_keys": [f["member"] for f in result["ignored"]],
            }
        },
        status=201,
    )


# --- Tecken: GET/HEAD /{debug_file}/{debug_id}/{file}, /try/... ------------------------------


def _download_response(response: HttpResponseBase, debug: bool, start: float) -> HttpResponseBase:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET"
    if debug and "Debug-Time" not in response:
        response["Debug-Time"] = f"{time.monotonic() - start:.6f}"
    return response


def download(
    request: HttpRequest, debug_file: str, debug_id: str, file: str, try_path: bool = False
) -> HttpResponseBase:
    """Tecken's download API. With ``TECKEN_DOWNLOAD_URL`` a found file is a 302 to its
    public URL; without it the app serves it (gzip-encoded as stored when the client
    accepts gzip). A code file and code id answer 302 to the module's own URL."""
    start = time.monotonic()
    # Tecken's rule for downloads (1, true, yes), not Eliot's (any value).
    debug = tecken_core.tecken_debug_requested(request.META.get("HTTP_DEBUG", ""))
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD"
        return _download_response(response, debug, start)
    head = request.method == "HEAD"
    redirect = settings.TECKEN_DOWNLOAD_URL
    if head or redirect:
        body = "none"
    else:
        body = "stored" if "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", "") else "decoded"
    try_symbols = try_path or "try" in request.GET
    args = (debug_file, debug_id, file)
    options = {
        "try_": try_symbols,
        "code_file": request.GET.get("code_file"),
        "code_id": request.GET.get("code_id"),
    }
    st = service.store()
    try:
        found = st.download(*args, body=body, **options)  # type: ignore[arg-type]
        if found["status"] == "not_found" and body == "none" and not head:
            # A GET in redirect mode that missed: ask once more reading, which records the
            # miss for missingsymbols.csv (a HEAD-style lookup records nothing).
            found = st.download(*args, body="decoded", **options)  # type: ignore[arg-type]
    except tecken_core.TeckenError as e:
        return _download_response(HttpResponse(str(e), status=e.status, content_type="text/plain"), debug, start)

    status = found["status"]
    response: HttpResponseBase
    if status == "found":
        if head:
            response = HttpResponse(b"")
        elif redirect:
            response = HttpResponse(status=302)
            response["Location"] = redirect.rstrip("/") + "/" + (found["key"] or "")
        else:
            response = HttpResponse(
                found["body"] or b"", content_type=found["content_type"] or "application/octet-stream"
            )
            if found["content_encoding"]:
                response["Content-Encoding"] = found["content_encoding"]
    elif status == "redirect":
        query = request.META.get("QUERY_STRING", "")
        response = HttpResponse(status=302)
        response["Location"] = "/" + ("try/" if try_path else "") + (found["key"] or "") + (f"?{query}" if query else "")
    elif status == "ignored":
        response = HttpResponse("Symbol Not Found (and ignored)", status=404, content_type="text/plain")
        if debug:
            response["Debug-Time"] = "0"
    else:
        response = HttpResponse("Symbol Not Found", status=404, content_type="text/plain")
    return _download_response(response, debug, start)


def syminfo(request: HttpRequest, file: str, id: str) -> HttpResponse:
    """Tecken's ``GET /api/syminfo/{code_or_debug_file}/{code_or_debug_id}``."""
    info = service.store().syminfo(file, id)
    if info is None:
        return HttpResponse("Code file / id Not Found", status=404, content_type="text/plain")
    # The storage key without its area's "v1/": xul.pdb/ID/xul.sym, try/xul.pdb/ID/xul.sym.
    path = info["key"].replace("v1/", "", 1)
    return JsonResponse(
        {
            "debug_filename": info["debug_filename"],
            "debug_id": info["debug_id"],
            "code_file": info["code_file"],
            "code_id": info["code_id"],
            "generator": info["generator"],
            "url": request.build_absolute_uri("/" + path),
        }
    )


# ``token_expires_at`` of a token that never expires: the last second of year 9999.
TOKEN_NEVER_EXPIRES = 253_402_300_799


@csrf_exempt
def upload_auth_info(request: HttpRequest) -> HttpResponse:
    """Tecken's ``POST /upload/auth_info/``: the preflight request Mozilla's
    ``upload-symbols`` client sends before uploading, to check its token and ask which
    upload API to use (``TECKEN_UPLOAD_API_VERSION``: 1, ``POST /upload/``; 2, a session
    per file, ``/upload/v2/``). Errors are Tecken's
    ``{"error": ...}`` 403s, which that client shows."""
    if request.method not in ("POST", "GET"):
        return _vary(_error(f"Method Not Allowed ({request.method}): {request.path}", 405))
    refused = _token_error(request)
    if refused:
        return _vary(_error(refused, 403))
    return _vary(
        JsonResponse(
            {
                "email": settings.TECKEN_UPLOAD_USER,
                "try_symbols": False,
                "token_expires_at": TOKEN_NEVER_EXPIRES,
                "upload_api_version": settings.TECKEN_UPLOAD_API_VERSION,
                "opentelemetry": None,
            }
        )
    )


# --- Tecken: upload API v2 -----------------------------------------------------------------

# The largest POST /upload/v2/ body (1,000 files of long keys fit), and the pieces a
# chunk's body is read and written in.
MAX_V2_START_BODY = 1 << 20
CHUNK_PIECE = 256 * 1024


@csrf_exempt
def upload_v2(request: HttpRequest) -> HttpResponse:
    """Tecken's ``POST /upload/v2/``: ``{"files": [{"key", "size", "md5_hash"}]}`` in, an
    action per file out (``upload`` with a session URL, ``skip``, or ``error``), in the
    answer Mozilla's ``upload-symbols`` client reads."""
    return _vary(_upload_v2(request))


def _upload_v2(request: HttpRequest) -> HttpResponse:
    refusal = _upload_refusal(request)
    if refusal:
        return refusal
    body = request.read(MAX_V2_START_BODY + 1)
    if len(body) > MAX_V2_START_BODY:
        return _error(f"Request body too large (at most {MAX_V2_START_BODY} bytes)", 413)
    try:
        files = json.loads(body)["files"]
        if not isinstance(files, list):
            raise TypeError("files is not a list")
        planned = service.upload_sessions().start(service.store(), files)
    except tecken_core.TeckenError as e:
        response = _error(str(e), e.status)
        if e.status == 429:
            response["Retry-After"] = "10"
        return response
    except (ValueError, KeyError, TypeError) as e:
        return _error(f"Invalid JSON body: {e}", 400)
    for p in planned:
        action = p["action"]
        if action["type"] == "upload":
            url = request.build_absolute_uri(f"/upload/v2/session/{action.pop('session')}")
            action.update(url=url, content_encoding=None)
    return JsonResponse(
        {
            # No database here: the creation time stands in for Tecken's row id.
            "id": int(time.time()),
            "created_at": int(time.time()),
            "user": settings.TECKEN_UPLOAD_USER,
            "try_symbols": False,
            "upload_protocol": "gcs-resumable",
            "files": planned,
        }
    )


@csrf_exempt
def upload_v2_session(request: HttpRequest, session: str) -> HttpResponse:
    """``PUT /upload/v2/session/{id}``: one chunk (``Content-Range``) of a file, as a
    Google Cloud Storage resumable upload takes it: 308 with ``Range`` while bytes are
    missing, 200 with the object once the core has stored the file. The URL is the
    credential (no token), as a GCS session URL is."""
    if request.method != "PUT":
        response = _error(f"Method Not Allowed ({request.method}): {request.path}", 405)
        response["Allow"] = "PUT"
        return response
    content_range = request.headers.get("Content-Range")
    if not content_range:
        return _error("A chunk needs a Content-Range header", 400)
    try:
        # Read and written in pieces: a 16 MiB chunk never sits whole in memory.
        with service.upload_sessions().begin(session, content_range) as writer:
            while piece := request.read(CHUNK_PIECE):
                writer.write(piece)
            outcome = writer.finish(service.store())
    except tecken_core.TeckenError as e:
        return _error(str(e), e.status)
    if not outcome["complete"]:
        response = HttpResponse(status=308)
        if outcome["received"]:
            response["Range"] = f"bytes=0-{outcome['received'] - 1}"
        return response
    done = outcome["file"]
    if outcome["result"] is not None:
        service.symbolicator().forget_uploaded(outcome["result"])
    return JsonResponse(
        {
            "kind": "storage#object",
            "name": done["storage_key"],
            "bucket": settings.TECKEN_STORE,
            "size": str(done["size"]),
            "md5Hash": done["md5_base64"],
        }
    )


def auth_info(request: HttpRequest) -> HttpResponse:
    """Tecken's ``GET /api/_auth/`` (its web front end asks it): who the token is. No
    token: the anonymous answer."""
    if "Auth-Token" not in request.headers:
        return _vary(JsonResponse({"sign_in_url": None}))
    refused = _token_error(request)
    if refused:
        return _vary(_error(refused, 403))
    permissions = ["upload.upload_symbols", "upload.upload_try_symbols"]
    return _vary(JsonResponse({"user": {"email": None, "is_active": True, "permissions": permissions}}))


# --- errors ----------------------------------------------------------------------------------


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown paths: Eliot's JSON 404."""
    return _eliot_error(404, "Not Found")


def server_error(request: HttpRequest) -> HttpResponse:
    """Unexpected errors: Eliot's JSON 500."""
    return _eliot_error(500, "Internal Server Error")

"""Breakpad symbol store and symbolication engine: the Python binding of tecken-core.

A Django view for Eliot's API::

    SYM = tecken_core.Symbolicator("s3://org-symbols/v1", cache_dir="/var/cache/tecken")

    def symbolicate_v5(request):
        status, body = SYM.symbolicate_v5_with_status(request.body)
        return HttpResponse(body, status=status, content_type="application/json")

Every call that does real work releases the GIL; errors are ``TeckenError`` subclasses
that also subclass the matching builtin (``ValueError``, ``LookupError``, ``OSError``,
``RuntimeError``) and carry a stable ``.kind``.
"""

from ._native import (
    BadRequestError,
    ChunkWriter,
    CorruptIndexError,
    Frame,
    Index,
    IndexTooNewError,
    IndexTooOldError,
    InlineFrame,
    InternalError,
    InvalidInputError,
    IoError,
    JobResult,
    LimitExceededError,
    MalformedSymError,
    NotFoundError,
    StorageError,
    SymbolicatedFrame,
    SymbolicatedInline,
    Symbolicator,
    SymbolStore,
    TeckenError,
    UploadSessions,
    __version__,
    auth_token_matches,
    binary_id,
    build_index,
    parse_sym_header,
    tecken_debug_requested,
    stackwalk,
)

__all__ = [
    "BadRequestError",
    "ChunkWriter",
    "CorruptIndexError",
    "Frame",
    "Index",
    "IndexTooNewError",
    "IndexTooOldError",
    "InlineFrame",
    "InternalError",
    "InvalidInputError",
    "IoError",
    "JobResult",
    "LimitExceededError",
    "MalformedSymError",
    "NotFoundError",
    "StorageError",
    "SymbolicatedFrame",
    "SymbolicatedInline",
    "Symbolicator",
    "SymbolStore",
    "TeckenError",
    "UploadSessions",
    "__version__",
    "auth_token_matches",
    "binary_id",
    "build_index",
    "parse_sym_header",
    "tecken_debug_requested",
    "stackwalk",
]

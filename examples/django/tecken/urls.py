"""Eliot's and Tecken's routes."""

from django.urls import path, re_path

from . import views

# A key component: anything but a slash (the core checks the characters).
PART = r"[^/]+"

# Routes are tried in order: the busiest first.
urlpatterns = [
    path("symbolicate/v5", views.symbolicate_v5),
    path("__lbheartbeat__", views.lbheartbeat),
    path("bench/v5-bytes", views.bench_v5_bytes),  # 404 unless TECKEN_BENCH_ROUTES
    path("symbolicate/v4", views.symbolicate_v4),
    path("upload/", views.upload),
    path("upload/auth_info/", views.upload_auth_info),
    path("upload/v2/", views.upload_v2),
    path("upload/v2/session/<str:session>", views.upload_v2_session),
    path("api/_auth/", views.auth_info),
    path("api/syminfo/<str:file>/<str:id>", views.syminfo),
    re_path(rf"^try/(?P<debug_file>{PART})/(?P<debug_id>{PART})/(?P<file>{PART})$", views.download, {"try_path": True}),
    re_path(rf"^(?P<debug_file>{PART})/(?P<debug_id>{PART})/(?P<file>{PART})$", views.download),
]

handler404 = views.not_found
handler500 = views.server_error

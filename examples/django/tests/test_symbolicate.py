"""Eliot's API through the Django views: every observed Eliot case byte for byte (status,
body), including the 405 and 404 that the HTTP layer answers; CORS; the body limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from conftest import FIXTURES

OBSERVED = json.loads((FIXTURES / "api-samples" / "eliot-symbolicate-observed.json").read_text())["cases"]

# Where the core answers differently from Eliot on purpose (see tecken-core's v5 docs):
# one list, shared with the Python binding's tests.
DELIBERATE = {
    name: (status, body)
    for name, (status, body) in json.loads(
        (FIXTURES.parent / "bindings" / "eliot-deliberate.json").read_text()
    )["cases"].items()
}


def shape(v: Any) -> Any:
    """Keys in order and value types, not the timing values of a debug block."""
    if isinstance(v, dict):
        return [(k, shape(x)) for k, x in v.items()]
    if isinstance(v, list):
        return [shape(x) for x in v]
    return type(v).__name__


@pytest.fixture()
def eliot(eliot_dir: Path, tmp_path: Path):
    with override_settings(
        TECKEN_STORE=str(tmp_path / "store"), TECKEN_SYMBOLS=str(eliot_dir), TECKEN_CACHE_DIR=str(tmp_path / "cache")
    ):
        yield


def post(client: Client, path: str, body: bytes, **headers: str):
    return client.generic("POST", path, body, content_type="application/json", headers=headers)


def test_observed_eliot_cases(client: Client, eliot: None) -> None:
    checked = different = 0
    for case in OBSERVED:
        name = case["name"]
        raw = case.get("request_body")
        body = b"" if raw is None else (raw if isinstance(raw, str) else json.dumps(raw)).encode()
        response = client.generic(
            case["method"], case["path"], body, content_type="application/json",
            headers=case.get("request_headers", {}),
        )
        if name in DELIBERATE:
            different += 1
            want_status, want_text = DELIBERATE[name]
        else:
            want_status, want_text = case["status"], json.dumps(case["response"])
        assert response.status_code == want_status, name
        assert response["Content-Type"] == "application/json", name
        assert response["Access-Control-Allow-Origin"] == "*", name
        if case.get("request_headers", {}).get("Debug"):
            got, want = json.loads(response.content), json.loads(want_text)
            assert shape(got) == shape(want), name
            assert json.dumps(got["results"]) == json.dumps(want["results"]), name
        else:
            assert response.content == want_text.encode(), name
        checked += 1
    assert (checked, different) == (50, 4)


def test_v4_and_v5_answer_the_same_modules(client: Client, eliot: None) -> None:
    body = json.dumps({"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]})
    v5 = json.loads(post(client, "/symbolicate/v5", body.encode()).content)
    v4 = json.loads(post(client, "/symbolicate/v4", body.encode()).content)
    assert v5["results"][0]["stacks"][0][0]["function"] == "testproj::main"
    assert v4["symbolicatedStacks"] == [["testproj::main (in testproj)"]]


def test_cors_preflight(client: Client, eliot: None) -> None:
    response = client.options(
        "/symbolicate/v5",
        headers={"Origin": "https://crash-stats.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"] == "content-type"
    put = client.put("/symbolicate/v4", b"{}")
    assert (put.status_code, put.content) == (405, b'{"title": "405 Method Not Allowed"}')


def test_bodies_over_the_limit_are_413_without_reading_them_whole(client: Client, eliot: None) -> None:
    with override_settings(TECKEN_MAX_BODY_BYTES=1000):
        big = json.dumps({"stacks": [[[0, 1]] * 200], "memoryMap": [["a.so", "AB"]]}).encode()
        assert len(big) > 1000
        response = post(client, "/symbolicate/v5", big)
        assert response.status_code == 413
        assert json.loads(response.content)["title"]
        assert post(client, "/symbolicate/v4", big).status_code == 413
        assert post(client, "/symbolicate/v5", big[:0] + b'{"jobs": []}').status_code == 200


def test_symbolicates_from_the_store_and_the_heartbeat(client: Client, store_dir: Path) -> None:
    from conftest import TOKEN, make_zip

    data = (FIXTURES / "eliot" / "testproj.D48F191186D67E69DF025AD71FB91E1F0.sym").read_bytes()
    archive = make_zip({"testproj/D48F191186D67E69DF025AD71FB91E1F0/testproj.sym": data})
    assert client.post("/upload/", {"s.zip": _file(archive)}, headers={"Auth-Token": TOKEN}).status_code == 201
    body = b'{"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}'
    got = json.loads(post(client, "/symbolicate/v5", body).content)
    assert got["results"][0]["found_modules"] == {"testproj/D48F191186D67E69DF025AD71FB91E1F0": True}
    beat = client.get("/__lbheartbeat__")
    assert (beat.status_code, beat.json()) == (200, {"status": "ok"})
    assert client.get("/no/such/path/here").json() == {"title": "404 Not Found"}


def test_the_load_tests_floor_route_is_off_unless_asked_for(client: Client, eliot: None) -> None:
    from tecken import views

    first = b'{"stacks": [[[0, 21376]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}'
    other = b'{"stacks": [[[0, 1]]], "memoryMap": [["testproj", "D48F191186D67E69DF025AD71FB91E1F0"]]}'
    off = post(client, "/bench/v5-bytes", first)
    assert (off.status_code, off.json()) == (404, {"title": "404 Not Found"})
    views._bench_answer.clear()
    try:
        with override_settings(TECKEN_BENCH_ROUTES=True):
            a = post(client, "/bench/v5-bytes", first)
            b = post(client, "/bench/v5-bytes", other)
            assert client.get("/bench/v5-bytes").status_code == 405
        # Both answer the v5 view's answer to the first body: the same bytes, no lookup.
        v5 = post(client, "/symbolicate/v5", first)
        assert (a.status_code, b.status_code) == (200, 200)
        assert a.content == b.content == v5.content
        assert a["Content-Type"] == v5["Content-Type"] == "application/json"
        assert a["Access-Control-Allow-Origin"] == "*"
        assert post(client, "/symbolicate/v5", other).content != a.content
    finally:
        views._bench_answer.clear()


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("ignored-name", data)

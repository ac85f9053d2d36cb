#!/usr/bin/env python3
"""Where a Django v5 request's time goes: the example app's WSGI handler called in-process
(no gunicorn, no TCP, no wrk), per request, in one run:

  minimal       GET /__lbheartbeat__ (the load test's baseline)
  v5 empty      POST /symbolicate/v5 with one job and no frames (Django + the v5 path)
  v5 no core    POST /symbolicate/v5 answered by a view that reads the body and returns the
                core's answer to that body, computed beforehand (Django + the request and
                response bytes, without any lookup)
  v5            POST /symbolicate/v5, the distinct requests of requests.jsonl in turn
  core          `Symbolicator.symbolicate_v5_with_status` alone on the same bodies
  core, same    the same, one body repeated (addresses in the CPU cache)

    benches/run.sh django-profile [--rounds 8] [--requests 1000]
    benches/python/django_inprocess.py --data bench-out/loadtest [--rounds 8] [--requests 1000]

Rounds interleave the cases; each case's figure is its best round (the machine is shared).
With the load test's result (bench-out/loadtest-django.json, `benches/run.sh django`), it
also prints what the in-process costs predict for the HTTP ratio: a minimal request costs
the two cores 2/rps of them (gunicorn, TCP and wrk included), and a v5 request that much
plus its in-process extra over the minimal view.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT / "bench-out" / "loadtest", help="gen-loadtest's output")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--requests", type=int, default=1000, help="requests per case and round")
    p.add_argument("--loadtest", type=Path, default=ROOT / "bench-out" / "loadtest-django.json")
    p.add_argument("--json", type=Path, help="write the figures here")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    bodies_path = args.data / "requests.jsonl"
    if not bodies_path.is_file():
        print(f"django-profile: no {bodies_path}; run gen-loadtest (benches/run.sh django makes it)", file=sys.stderr)
        return 2
    bodies = [line.encode() for line in bodies_path.read_text().splitlines() if line.strip()]

    # The app as the load test runs it, configured before Django is imported.
    os.environ["TECKEN_STORE"] = str(args.data / "symbols")
    os.environ["TECKEN_CACHE_DIR"] = str(args.data / "cache")
    os.environ["TECKEN_DOWNLOAD_URL"] = "https://symbols.invalid/"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tecken.settings")
    sys.path.insert(0, str(ROOT / "examples" / "django"))

    from django.http import HttpRequest, HttpResponse
    from django.urls import clear_url_caches, path
    from django.views.decorators.csrf import csrf_exempt

    from tecken import service, urls
    from tecken.wsgi import application

    sym = service.symbolicator()
    answers: dict[bytes, bytes] = {}
    for body in bodies:  # warm: every module open, every index mapped and touched once
        status, out = sym.symbolicate_v5_with_status(body, debug=False)
        if status != 200:
            print(f"django-profile: a request answered {status}: {out[:200]!r}", file=sys.stderr)
            return 1
        answers[body] = out

    @csrf_exempt
    def v5_no_core(request: HttpRequest) -> HttpResponse:
        body = request.read()
        response = HttpResponse(answers[body], status=200, content_type="application/json")
        response["Access-Control-Allow-Origin"] = "*"
        return response

    urls.urlpatterns.insert(0, path("profile/v5-no-core", v5_no_core))
    clear_url_caches()

    def environ(method: str, route: str, body: bytes) -> dict:
        env = {
            "REQUEST_METHOD": method,
            "PATH_INFO": route,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if body:
            env["CONTENT_LENGTH"] = str(len(body))
            env["CONTENT_TYPE"] = "application/json"
        return env

    def call(method: str, route: str, body: bytes = b"") -> bytes:
        seen: list[str] = []
        result = application(environ(method, route, body), lambda status, headers, exc=None: seen.append(status))
        try:
            out = b"".join(result)
        finally:
            result.close()  # what a WSGI server does: Django's request_finished
        if not seen or not seen[0].startswith(("200", "302")):
            raise RuntimeError(f"{method} {route} answered {seen}")
        return out

    empty = json.dumps({"jobs": [{"memoryMap": [], "stacks": [[]]}]}).encode()
    n = args.requests

    def distinct(i: int) -> bytes:
        return bodies[i % len(bodies)]

    cases = {
        "minimal": lambda i: call("GET", "/__lbheartbeat__"),
        "v5 empty": lambda i: call("POST", "/symbolicate/v5", empty),
        "v5 no core": lambda i: call("POST", "/profile/v5-no-core", distinct(i)),
        "v5": lambda i: call("POST", "/symbolicate/v5", distinct(i)),
        "core": lambda i: sym.symbolicate_v5_with_status(distinct(i), debug=False),
        "core, same": lambda i: sym.symbolicate_v5_with_status(bodies[0], debug=False),
    }
    # Each view's answer checked once: the v5 view answers what the core answers.
    if call("POST", "/symbolicate/v5", bodies[1]) != answers[bodies[1]]:
        raise RuntimeError("the v5 view's answer differs from the core's")

    rounds: dict[str, list[float]] = {name: [] for name in cases}
    start = 0
    for _ in range(args.rounds):
        for name, run in cases.items():
            t0 = time.perf_counter()
            for i in range(start, start + n):
                run(i)
            rounds[name].append((time.perf_counter() - t0) / n * 1e6)
        start += n  # the next round asks for other addresses
    best = {name: min(v) for name, v in rounds.items()}
    med = {name: statistics.median(v) for name, v in rounds.items()}

    frames = statistics.mean(len(json.loads(b)["jobs"][0]["stacks"][0]) for b in bodies[:200])
    size = statistics.mean(len(a) for a in list(answers.values())[:200])
    print(f"in-process, {args.rounds} interleaved rounds of {n} requests; ~{frames:.0f} frames and a "
          f"{size / 1024:.1f} KB answer per v5 request")
    print("| what | us/request (best) | median |")
    print("|---|---:|---:|")
    for name in cases:
        print(f"| {name} | {best[name]:.0f} | {med[name]:.0f} |")
    extra = best["v5"] - best["minimal"]
    in_request = best["v5"] - best["v5 no core"]
    print(f"\nv5 over the minimal view: {extra:.0f} us; of it the core's call {in_request:.0f} us "
          f"(alone, in a loop over the same distinct requests: {best['core']:.0f} us; the difference is the "
          f"two evicting each other's cache lines), request and answer bytes through Django "
          f"{best['v5 no core'] - best['minimal']:.0f} us")

    figures = {"cases_us_best": best, "cases_us_median": med, "frames": frames, "answer_bytes": size}
    if args.loadtest.is_file():
        lt = json.loads(args.loadtest.read_text())
        mins = {p["name"]: p for p in lt["phases"]}
        rps_min = mins["minimal"]["rps"]
        per_min = 2e6 / rps_min  # us of the two cores per minimal request, everything counted
        predicted = per_min / (per_min + extra)
        budget = per_min / 9  # the most a v5 request may add for 90%
        print(f"load test ({args.loadtest.name}, {lt['worker_class']}): minimal {rps_min:,.0f} req/s = "
              f"{per_min:.0f} us of 2 cores a request; predicted v5 ratio {100 * predicted:.0f}% "
              f"(measured {100 * mins['v5']['ratio']:.0f}%); 90% allows {budget:.0f} us over the minimal view")
        figures.update(predicted_ratio=predicted, measured_ratio=mins["v5"]["ratio"], budget_us=budget)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

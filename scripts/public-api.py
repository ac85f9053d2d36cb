#!/usr/bin/env python3
"""Counts tecken-core's public API: the items a user can import, and the paths they can
import them by.

    scripts/public-api.py [--list] [--features s3]

Builds rustdoc's JSON for tecken-core with the nightly toolchain (`cargo +nightly rustdoc
... --output-format json`; not part of the test command) and walks the public modules from
the crate root. An "item" is a struct, enum, trait, function, constant, static, type alias
or macro defined in the crate; a "path" is one way to name it (`tecken_core::store::Foo` and
`tecken_core::Foo` are two paths to one item). Trait methods, fields and variants are not
counted: they come with their item.
"""
import argparse
import json
import os
import subprocess
import sys

COUNTED = {"struct", "enum", "trait", "function", "constant", "static", "type_alias", "macro",
           "union", "trait_alias"}


def kind_of(item):
    inner = item["inner"]
    return next(iter(inner)) if isinstance(inner, dict) else inner


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print every path")
    ap.add_argument("--features", default="", help="tecken-core features (e.g. s3)")
    ap.add_argument("--manifest-path", default="Cargo.toml")
    args = ap.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", "target")
    cmd = ["cargo", "+nightly", "rustdoc", "-q", "-p", "tecken-core", "--lib",
           "--manifest-path", args.manifest_path]
    if args.features:
        cmd += ["--features", args.features]
    cmd += ["--", "-Z", "unstable-options", "--output-format", "json"]
    subprocess.run(cmd, check=True)
    with open(os.path.join(target, "doc", "tecken_core.json")) as f:
        doc = json.load(f)
    index = doc["index"]

    paths = []  # (path, item id)
    seen_modules = set()

    def walk(module_id, prefix):
        if module_id in seen_modules:
            return
        seen_modules.add(module_id)
        module = index[str(module_id)]
        for child in module["inner"]["module"]["items"]:
            item = index.get(str(child))
            if item is None or item.get("visibility") != "public":
                continue
            kind = kind_of(item)
            if kind == "module":
                walk(child, prefix + [item["name"]])
            elif kind == "use":
                use = item["inner"]["use"]
                target_id = use.get("id")
                if use.get("is_glob"):
                    print(f"warning: glob re-export in {'::'.join(prefix)}", file=sys.stderr)
                    continue
                if target_id is None or str(target_id) not in index:
                    continue  # a re-export of another crate's item
                target_item = index[str(target_id)]
                tkind = kind_of(target_item)
                if tkind == "module":
                    walk(target_id, prefix + [use["name"]])
                elif tkind in COUNTED:
                    paths.append(("::".join(prefix + [use["name"]]), target_id))
            elif kind in COUNTED:
                paths.append(("::".join(prefix + [item["name"]]), child))

    walk(doc["root"], ["tecken_core"])
    items = {i for _, i in paths}
    by_item = {}
    for p, i in paths:
        by_item.setdefault(i, []).append(p)
    multi = {i: ps for i, ps in by_item.items() if len(ps) > 1}
    if args.list:
        for p, _ in sorted(paths):
            print(p)
    print(f"public items: {len(items)}")
    print(f"public paths: {len(paths)}")
    print(f"items importable by more than one path: {len(multi)}")
    for ps in sorted(multi.values()):
        print("  " + "  =  ".join(sorted(ps)))


if __name__ == "__main__":
    main()

"""The upload work done the way Tecken does it, for comparison with tecken-core (the Python
side of `bench-upload`, the `store` suite of benches/run.sh).

Tecken (tecken/upload/views.py, utils.py): extract the zip with `zipfile` into a temporary
directory, then for every member in a thread pool: look the key up, `hashlib.md5` the file in
64 KiB blocks, `gzip.open(..., "wb")` (level 9) + `shutil.copyfileobj` into `name.gz`, and
`put_object` it with `ContentEncoding`, `ContentType` and the `original_size` /
`original_md5_hash` metadata. "local" copies the `.gz` into a directory in the same layout
instead of calling S3.

usage: tecken_upload.py ARCHIVE.zip local DEST_DIR THREADS
       tecken_upload.py ARCHIVE.zip s3 ENDPOINT,BUCKET THREADS
Prints the elapsed seconds on the last line.
"""

import concurrent.futures
import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import time
import zipfile


def md5_file(path, blocksize=65536):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(blocksize), b""):
            h.update(block)
    return h.hexdigest()


def prepare(path, name):
    size = os.stat(path).st_size
    if not name.lower().endswith(".sym"):
        return path, {}, {}
    digest = md5_file(path)
    with open(path, "rb") as f_in, gzip.open(path + ".gz", "wb") as f_out:
        shutil.copyfileobj(f_in, f_out)
    meta = {"original_size": str(size), "original_md5_hash": digest}
    return path + ".gz", meta, {"ContentEncoding": "gzip", "ContentType": "text/plain"}


def main():
    archive, mode, dest, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = bucket = None
    if mode == "s3":
        import boto3

        endpoint, bucket = dest.split(",", 1)
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=bucket)

    def upload(root, name):
        key = "v1/" + name
        if client is not None:
            try:
                client.head_object(Bucket=bucket, Key=key)
            except Exception:
                pass
        else:
            os.path.exists(os.path.join(dest, key))
        body, meta, extras = prepare(os.path.join(root, name), name)
        if client is not None:
            with open(body, "rb") as f:
                client.put_object(Bucket=bucket, Key=key, Body=f, Metadata=meta, **extras)
        else:
            target = os.path.join(dest, key)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(body, target)

    start = time.monotonic()
    with tempfile.TemporaryDirectory() as root:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(root)
            names = [n for n in set(zf.namelist()) if os.path.isfile(os.path.join(root, n))]
        with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
            for f in [pool.submit(upload, root, n) for n in names]:
                f.result()
    print(f"{time.monotonic() - start:.3f}")


if __name__ == "__main__":
    main()

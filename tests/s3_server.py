"""A real S3-compatible server for tests: moto's standalone server (what s3fs and pandas test
against), started as its own process on a free port, with a bucket."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from live import free_port

ACCESS_KEY, SECRET_KEY, REGION = "mlgov-test-key", "mlgov-test-secret", "us-east-1"


class S3Server:
    def __init__(self, root: Path, bucket: str = "mlgov-objects"):
        self.port, self.bucket = free_port(), bucket
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log = open(root / "moto.log", "wb")
        cli = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(cli), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).read()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("moto_server did not start")
                time.sleep(0.2)
        self.client().create_bucket(Bucket=bucket)

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def options(self) -> dict:
        """The pyarrow S3FileSystem arguments (what c.MlgovApp.objects_options holds)."""
        return {"endpoint_override": self.endpoint, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
                "region": REGION, "scheme": "http"}

    def keys(self) -> list[str]:
        out = self.client().list_objects_v2(Bucket=self.bucket)
        return [o["Key"] for o in out.get("Contents", [])]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

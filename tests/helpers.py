"""Small helpers for building request bodies in tests."""

import base64
import io
import time

import pandas as pd


def frame(n: int = 50) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": range(n), "tenure": [i % 7 for i in range(n)],
                         "plan": ["basic", "pro"] * (n // 2), "churned": [i % 3 == 0 for i in range(n)]})


def parquet_b64(df: pd.DataFrame) -> str:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return base64.b64encode(buf.getvalue()).decode()


def publish_body(name="churn", df=None, **extra) -> dict:
    body = {"name": name, "description": "customer churn events by month", "tags": ["churn", "crm"],
            "content_b64": parquet_b64(frame() if df is None else df)}
    body.update(extra)
    return body


def inline_content(obj) -> dict:
    """A publish body's inline content for a DataFrame or a scikit-learn model (small content;
    the client itself sends uploads)."""
    if isinstance(obj, pd.DataFrame):
        return {"format": "parquet", "content_b64": parquet_b64(obj)}
    import skops.io as sio

    return {"format": "skops", "content_b64": base64.b64encode(sio.dumps(obj)).decode()}


def wait(predicate, timeout: float, what: str, log=None, every: float = 0.25):
    """``predicate()``'s first true value, polled every ``every`` s; AssertionError naming
    ``what`` (and ``log()``'s text, if given) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"waited {timeout:.0f} s for {what}" + (f"\n{log()}" if log else ""))


def race(*calls, delays=None):
    """Run the calls at the same instant (each after its delay in seconds) on their own threads;
    each one's result or GovernanceError (None: it raised something else, a 500 over HTTP)."""
    import threading

    from mlgov_jupyter.core.errors import GovernanceError

    barrier, out = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        barrier.wait()
        if delays and delays[i]:
            time.sleep(delays[i])
        try:
            out[i] = call()
        except GovernanceError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return out


def stream_limits(stream_max: int, lease: float, decode_wait: float = 30) -> str:
    """LiveServer config lines for the stream-slot tests: ``stream_max`` slots, 4 per user,
    ``stream_max_lease`` seconds, no minimum rate, ``decode_wait`` seconds of waiting."""
    return (f"c.MlgovApp.stream_max = {stream_max}\nc.MlgovApp.stream_per_user = 4\n"
            f"c.MlgovApp.stream_max_lease = {lease}\nc.MlgovApp.stream_min_rate = 0\n"
            f"c.MlgovApp.decode_wait = {decode_wait}\n")

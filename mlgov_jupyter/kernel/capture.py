"""Data capture (SageMaker's DataCaptureConfig, for any serving code): log what a deployed model
was asked and what it answered to the deployment's capture dataset, in batched Parquet files.

    model = mlgov_jupyter.capture(model, deployment="fraud-prod")   # predict/predict_proba log
    capturer = mlgov_jupyter.Capturer("fraud-prod")                 # from serving code
    capturer.log(inputs_df, predictions, probabilities=None, inference_ids=None)
    app.add_middleware(mlgov_jupyter.CaptureMiddleware, deployment="fraud-prod")  # FastAPI/Starlette

Each row gets an ``inference_id`` (a UUID unless given: return it to the caller so ground truth
can name it later, ``client.upload_ground_truth``) and an ``event_time`` (UTC). Outputs are named
``prediction`` and, for a binary classifier's ``predict_proba``, ``probability`` (of the second
class; more classes: ``probability_<class>``). Rows are sent every ``batch_rows`` rows or
``flush_seconds`` seconds, on a background thread; ``flush()`` sends now, and the process sends
what is left at exit. A batch that cannot be sent is kept and retried at the next flush (at most
``max_buffered_rows`` are held; beyond, the oldest are dropped and counted in ``dropped``).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from datetime import datetime, timezone

log = logging.getLogger("mlgov.capture")


class Capturer:
    def __init__(self, deployment: str, client=None, batch_rows: int = 1000, flush_seconds: float = 10.0,
                 max_buffered_rows: int = 1_000_000):
        from .client import connect

        self.deployment, self.client = deployment, client or connect()
        self.batch_rows, self.flush_seconds, self.max_buffered_rows = batch_rows, flush_seconds, max_buffered_rows
        self._frames: list = []
        self._rows = 0
        self.sent_rows = self.dropped = 0
        self._lock = threading.Lock()  # guards the buffer
        self._send_lock = threading.Lock()  # one send at a time, in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"mlgov-capture-{deployment}", daemon=True)
        self._thread.start()
        _live.add(self)

    def log(self, inputs, predictions=None, probabilities=None, inference_ids=None, classes=None) -> list[str]:
        """Buffer one call's rows: ``inputs`` (a DataFrame, or a dict/list of records), the model's
        ``predictions`` and ``probabilities`` (as ``predict_proba`` returns them; ``classes``
        names their columns). Returns the inference ids (given, or new UUIDs)."""
        import numpy as np
        import pandas as pd

        frame = inputs.copy() if isinstance(inputs, pd.DataFrame) else pd.DataFrame(inputs)
        frame = frame.reset_index(drop=True)
        n = len(frame)
        ids = [str(i) for i in inference_ids] if inference_ids is not None else [str(uuid.uuid4()) for _ in range(n)]
        if len(ids) != n:
            raise ValueError(f"{len(ids)} inference ids for {n} rows")
        if predictions is not None:
            frame["prediction"] = np.asarray(predictions).reshape(n, -1)[:, 0] if n else []
        if probabilities is not None:
            proba = np.asarray(probabilities, dtype=float).reshape(n, -1)
            if proba.shape[1] == 2:
                frame["probability"] = proba[:, 1]
            else:
                names = list(classes) if classes is not None else list(range(proba.shape[1]))
                for j, c in enumerate(names):
                    frame[f"probability_{c}"] = proba[:, j]
        frame["inference_id"] = ids
        frame["event_time"] = datetime.now(timezone.utc)
        with self._lock:
            self._frames.append(frame)
            self._rows += n
            while self._rows > self.max_buffered_rows and len(self._frames) > 1:
                dropped = self._frames.pop(0)
                self._rows -= len(dropped)
                self.dropped += len(dropped)
            full = self._rows >= self.batch_rows
        if full:
            self.flush()
        return ids

    def flush(self) -> int:
        """Send what is buffered now; the rows sent (0 if the service could not be reached: kept)."""
        import pandas as pd

        with self._send_lock:
            with self._lock:
                frames, self._frames, rows, self._rows = self._frames, [], self._rows, 0
            if not frames:
                return 0
            batch = pd.concat(frames, ignore_index=True)
            try:
                self.client.send_capture(self.deployment, batch)
            except Exception as exc:  # noqa: BLE001 - serving must go on; the batch waits for the next flush
                log.warning("capture for %s not sent (%s): %s rows kept", self.deployment, exc, rows)
                with self._lock:
                    self._frames[:0], self._rows = [batch], self._rows + rows
                return 0
            self.sent_rows += rows
            return rows

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the background thread and send what is left."""
        self._stop.set()
        self.flush()


_live: "weakref.WeakSet[Capturer]" = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    for c in list(_live):
        try:
            c.close()
        except Exception:  # noqa: BLE001 - at exit, nothing to tell
            pass


class CapturedModel:
    """A model whose ``predict`` / ``predict_proba`` log inputs and outputs; everything else is
    the model's. ``last_inference_ids`` holds the ids of the last call's rows."""

    def __init__(self, model, capturer: Capturer):
        self.model, self.capturer = model, capturer
        self.last_inference_ids: list[str] = []

    def predict(self, X, inference_ids=None):
        y = self.model.predict(X)
        proba = self.model.predict_proba(X) if hasattr(self.model, "predict_proba") else None
        self.last_inference_ids = self.capturer.log(X, y, proba, inference_ids,
                                                    classes=getattr(self.model, "classes_", None))
        return y

    def predict_proba(self, X, inference_ids=None):
        proba = self.model.predict_proba(X)
        classes = getattr(self.model, "classes_", None)
        import numpy as np

        y = np.asarray(classes)[np.argmax(proba, axis=1)] if classes is not None else None
        self.last_inference_ids = self.capturer.log(X, y, proba, inference_ids, classes=classes)
        return proba

    def flush(self) -> int:
        return self.capturer.flush()

    def __getattr__(self, name):
        return getattr(self.model, name)


def capture(model, deployment: str, client=None, **options) -> CapturedModel:
    """Wrap ``model`` so its predictions are captured to ``deployment`` (see the module doc)."""
    return CapturedModel(model, Capturer(deployment, client=client, **options))


class CaptureMiddleware:
    """ASGI middleware (FastAPI/Starlette ``app.add_middleware(CaptureMiddleware, deployment=...)``)
    capturing JSON prediction calls: a POST to ``path`` whose request body is a record or a list of
    records (or ``{"instances": [...]}``) and whose JSON answer holds ``predictions`` (and
    optionally ``probabilities``, ``inference_ids``). Other requests pass untouched."""

    def __init__(self, app, deployment: str, path: str = "/predict", client=None, **options):
        self.app, self.path = app, path
        self.capturer = Capturer(deployment, client=client, **options)

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "POST" or scope.get("path") != self.path:
            await self.app(scope, receive, send)
            return
        body, answer, status = bytearray(), bytearray(), [0]

        async def recv():
            message = await receive()
            if message.get("type") == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def snd(message):
            if message.get("type") == "http.response.start":
                status[0] = message.get("status", 0)
            elif message.get("type") == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, recv, snd)
        if 200 <= status[0] < 300:
            try:
                self._log(bytes(body), bytes(answer))
            except Exception as exc:  # noqa: BLE001 - capture never breaks serving
                log.warning("capture of %s skipped: %s", self.path, exc)

    def _log(self, body: bytes, answer: bytes) -> None:
        import json

        request, response = json.loads(body or b"null"), json.loads(answer or b"null")
        records = request.get("instances", request) if isinstance(request, dict) and "instances" in request \
            else request
        records = records if isinstance(records, list) else [records]
        if not isinstance(response, dict) or "predictions" not in response:
            return
        self.capturer.log(records, response["predictions"], response.get("probabilities"),
                          response.get("inference_ids"))


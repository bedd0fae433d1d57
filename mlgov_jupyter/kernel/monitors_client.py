"""Deployments, captured data, stored monitors and alerts: methods of the client."""

from __future__ import annotations

from urllib.parse import quote

from ..core.errors import Invalid


def _parquet_bytes(df) -> bytes:
    """A captured or labelled batch as Parquet, encoded as a publish is (``transfer._encodings``:
    numeric columns of mostly distinct values without a dictionary, uncompressed when snappy
    cannot shrink them): a monitor run decodes such columns in a quarter of the CPU."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from .transfer import _encodings

    table = pa.Table.from_pandas(df, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf, **_encodings(table))
    return buf.getvalue()


class MonitorsClient:
    """Mixed into Client; uses its ``_call``."""

    # ---- deployments ----------------------------------------------------------------------------

    def deploy(self, name: str, model: str, revision: int | None = None, environment: str = "production",
               capture: bool = True) -> dict:
        """Record that ``model`` (at ``revision``, default its latest) serves as deployment ``name``
        in ``environment``; with ``capture`` a catalog dataset ``<name>-capture`` receives what
        ``mlgov_jupyter.capture`` logs. Conflict if the name is taken; under the project's
        ``model_approval``, Forbidden (refuse) or a ModelApprovalWarning (warn) for a revision
        not approved."""
        return _warned(self._call("POST", "deployments", body={"name": name, "model": model, "revision": revision,
                                                               "environment": environment, "capture": capture}))

    def deployments(self) -> list[dict]:
        return self._call("GET", "deployments")["deployments"]

    def deployment(self, name: str) -> dict:
        """A deployment with its monitors."""
        return self._call("GET", f"deployments/{quote(name, safe='')}")

    def update_deployment(self, name: str, status: str | None = None, revision: int | None = None) -> dict:
        """Take a deployment out of service (``status="OutOfService"``), back, or to another revision
        (approved or not as ``deploy``)."""
        return _warned(self._call("PATCH", f"deployments/{quote(name, safe='')}",
                                  body={"status": status, "revision": revision}))

    def send_capture(self, deployment: str, frame, kind: str = "inference") -> dict:
        """Store one batch (a DataFrame with an ``inference_id`` column) as a Parquet file."""
        path = "capture" if kind == "inference" else "ground-truth"
        return self._call("POST", f"deployments/{quote(deployment, safe='')}/{path}", body=_parquet_bytes(frame))

    def upload_ground_truth(self, deployment: str, df, inference_id: str = "inference_id",
                            batch_rows: int = 500_000) -> dict:
        """Upload labels for captured inferences: ``df`` holds the inference id column (named
        ``inference_id``, or give its name) and the label column(s) the baseline's target names.
        Joined to the captured inferences by id when a model-quality or bias monitor runs (the
        last upload of an id wins). Returns rows sent."""
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise Invalid("ground truth is a DataFrame with an inference id column and the label")
        if inference_id not in df.columns:
            raise Invalid(f"ground truth has no column {inference_id!r} (inference_id=...)")
        frame = df.rename(columns={inference_id: "inference_id"})
        frame["inference_id"] = frame["inference_id"].astype(str)
        sent = 0
        for start in range(0, len(frame), batch_rows):
            sent += self.send_capture(deployment, frame.iloc[start:start + batch_rows], "ground_truth")["rows"]
        return {"deployment": deployment, "rows": sent}

    # ---- monitors -------------------------------------------------------------------------------

    def create_monitor(self, name: str, deployment: str | None = None, type: str = "data_quality", baseline=None,
                       schedule: str = "hourly", data: str | None = None, thresholds: dict | None = None,
                       model: str | None = None, evaluation_period: int = 1, datapoints_to_alert: int = 1) -> dict:
        """Store a monitor the service runs on ``schedule`` ("hourly", "daily" or a cron
        expression, UTC): of ``deployment``'s captured inferences since its last run, or of
        ``model`` over catalog dataset ``data`` (each new revision). ``baseline``: a Baseline
        (``mon.fit_baseline``) or its ``to_dict()``; kept by the service. ``thresholds``:
        ``{"columns": {col: drift threshold}, "drift_share": .., "correction": "bh"|"bonferroni",
        "bias_tolerance": .., "quality": {...}}``. The alert rule: ``datapoints_to_alert`` runs
        with violations among the last ``evaluation_period`` (SageMaker/CloudWatch)."""
        from ..core.monitoring import Baseline

        if isinstance(baseline, Baseline):
            baseline = baseline.to_dict()
        if not isinstance(baseline, dict):
            raise Invalid("baseline= takes a Baseline (mon.fit_baseline(...)) or its to_dict()")
        return self._call("POST", "monitors", body={
            "name": name, "deployment": deployment, "model": model, "data": data, "monitor_type": type,
            "baseline": baseline, "schedule": schedule, "thresholds": thresholds or {},
            "evaluation_period": evaluation_period, "datapoints_to_alert": datapoints_to_alert})

    def monitors(self, deployment: str | None = None) -> list[dict]:
        return self._call("GET", "monitors", {"deployment": deployment})["monitors"]

    def monitor(self, name: str, limit: int = 50) -> dict:
        """A monitor with its executions (window, timing, metrics) and alerts."""
        return self._call("GET", f"monitors/{quote(name, safe='')}", {"limit": limit})

    def run_monitor(self, name: str, progress: bool = False) -> dict:
        """Run now; the execution (status Completed, CompletedWithViolations or Failed with the
        reason). ``progress``: a progress bar of the rows the service has read, polled while it runs."""
        path = f"monitors/{quote(name, safe='')}"
        if not progress:
            return self._call("POST", path + "/run", body={})
        import threading
        import time

        from .transfer import _progress as progress_bar

        done: dict = {}

        def run():
            try:
                done["result"] = self._call("POST", path + "/run", body={})
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                done["error"] = exc

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        bar = None
        while worker.is_alive():
            worker.join(0.5)
            if not worker.is_alive():
                break
            state = self._call("GET", path, {"limit": 1}).get("progress")
            if state and state.get("total"):
                if bar is None:
                    bar = progress_bar(state["total"], f"monitor {name}", "rows")
                bar.n = state["rows"]
                bar.refresh()
            time.sleep(0.5)
        if bar is not None:
            bar.n = bar.total
            bar.close()
        if "error" in done:
            raise done["error"]
        return done["result"]

    def start_monitor(self, name: str) -> dict:
        return self._call("POST", f"monitors/{quote(name, safe='')}/start", body={})

    def stop_monitor(self, name: str) -> dict:
        return self._call("POST", f"monitors/{quote(name, safe='')}/stop", body={})

    def delete_monitor(self, name: str) -> dict:
        return self._call("DELETE", f"monitors/{quote(name, safe='')}")

    # ---- alerts ---------------------------------------------------------------------------------

    def alerts(self, state: str = "open", limit: int = 100) -> list[dict]:
        """Alert episodes: ``violation`` (the monitor's alert rule), ``missing`` (a deployment in
        service without an active monitor), ``inactive`` (stopped, not run within two periods,
        or failing); ``state`` open, resolved or all."""
        return self._call("GET", "alerts", {"state": state, "limit": limit})["alerts"]

    def acknowledge(self, alert_id: int, comment: str = "") -> dict:
        return self._call("POST", f"alerts/{int(alert_id)}/ack", body={"comment": comment})


def _warned(answer: dict) -> dict:
    from .client import warn_model_approval  # client.py builds on this module

    return warn_model_approval(answer)

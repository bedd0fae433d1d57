"""mlgov-jupyter: ML governance inside Jupyter. Heavy modules load on first use."""

from ._version import __version__


def connect(url: str | None = None, token: str | None = None, user: str | None = None):
    """A client for the governance API: over HTTP to the Jupyter server that started this
    kernel (MLGOV_SERVER_URL/MLGOV_TOKEN), or in-process on the embedded store without one."""
    from .kernel.client import connect as _connect

    return _connect(url=url, token=token, user=user)


def capture(model, deployment: str, client=None, **options):
    """Wrap ``model``: its ``predict``/``predict_proba`` calls are captured to ``deployment``
    (see ``mlgov_jupyter.kernel.capture``)."""
    from .kernel.capture import capture as _capture

    return _capture(model, deployment, client=client, **options)


def __getattr__(name):
    if name in ("Capturer", "CaptureMiddleware"):
        from .kernel import capture as _module

        return getattr(_module, name)
    raise AttributeError(f"module 'mlgov_jupyter' has no attribute {name!r}")


def load_ipython_extension(ipython):
    from .kernel.magics.entry import load

    load(ipython)


def _jupyter_server_extension_points():
    from .server.extension import MlgovApp

    return [{"module": "mlgov_jupyter", "app": MlgovApp}]


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "mlgov-jupyter"}]


__all__ = ["CaptureMiddleware", "Capturer", "__version__", "capture", "connect"]

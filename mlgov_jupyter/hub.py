"""JupyterHub configuration for team mode, in one call from ``jupyterhub_config.py``:

    from mlgov_jupyter.hub import configure_mlgov
    configure_mlgov(c, data_dir="/var/lib/mlgov", config_file="/etc/mlgov/mlgov_config.py")

adds ``mlgov serve`` as a managed hub service running as its own OS account, lets every hub user
reach it with their own token (the ``user`` and ``server`` roles get
``access:services!service=mlgov``), and tells single-user servers where it is
(``$MLGOV_SERVICE_URL``), so their sidebars forward to it and their kernels call it. Users'
kernels listen on IPC sockets in their own runtime directory instead of localhost TCP ports.
"""

from __future__ import annotations

import sys


def _add_scope(roles: list, name: str, defaults: list[str], scope: str) -> None:
    for role in roles:
        if role.get("name") == name:
            role["scopes"] = sorted(set(role.get("scopes") or defaults) | {scope})
            return
    roles.append({"name": name, "scopes": defaults + [scope]})


def configure_mlgov(c, *, name: str = "mlgov", port: int = 10101, user: str = "mlgov",
                    data_dir: str = "/var/lib/mlgov", config_file: str | None = None,
                    command: list[str] | None = None, environment: dict | None = None) -> str:
    """Add the governance service to the JupyterHub config ``c``; returns the URL single-user
    servers and kernels use to reach it (``http://127.0.0.1:<port>/services/<name>/``).

    ``user`` is the OS account the hub starts the service as (the hub runs as root); ``data_dir``
    its private directory (store, signing key, checkpoints; kept 0700: create it owned by ``user``); ``config_file`` a
    traitlets file for ``MlgovServe`` (``db_url``, ``admin_users``, ...). ``command`` replaces the
    default ``<this python> -m mlgov_jupyter.cli serve ...``.
    """
    cmd = command or [sys.executable, "-m", "mlgov_jupyter.cli", "serve", f"--data-dir={data_dir}"]
    if config_file and not command:
        cmd.append(f"--config={config_file}")
    service = {"name": name, "url": f"http://127.0.0.1:{port}", "command": cmd, "cwd": "/",
               "oauth_no_confirm": True, "environment": dict(environment or {})}
    if user:
        service["user"] = user
    c.JupyterHub.services.append(service)
    scope = f"access:services!service={name}"
    roles = c.JupyterHub.load_roles if isinstance(c.JupyterHub.load_roles, list) else []
    _add_scope(roles, "user", ["self"], scope)
    _add_scope(roles, "server", ["users:activity!user", "access:servers!server"], scope)
    c.JupyterHub.load_roles = roles
    url = f"http://127.0.0.1:{port}/services/{name}/"
    c.Spawner.environment.update({"MLGOV_SERVICE_URL": url})
    # Kernels talk over IPC sockets in the user's private runtime dir: on TCP localhost any other
    # user of the machine could subscribe to a kernel's output (iopub needs no key)
    c.Spawner.args.append("--KernelManager.transport=ipc")
    return url

"""Team mode end to end on a real JupyterHub: real Unix users, their own single-user servers and
kernels, and ``mlgov serve`` as a managed hub service under its own account ``mlgov``.

The catalog loop runs from the users' kernels (each calling the service with its own hub token):
alice publishes, bob finds the asset but may not use it, asks, alice approves, bob uses it, alice
revokes, bob is refused again; mallory may neither use it nor decide bob's request. Then the trust
boundary seen from outside: who each process runs as, the service's private directory, and no
service credential in any user's server or kernel.
"""

from __future__ import annotations

import os
import stat
import uuid

from .harness import (SERVICE_USER, environ, kernel_ok, kernel_process, ps_user, server_process,
                      service_process)

CLIENT = "import mlgov_jupyter as mg\nc = mg.connect()\n"


def _names() -> tuple[str, str, str]:
    """A project, an asset and a search word unique to this run (the hub and store are shared)."""
    tag = uuid.uuid4().hex[:8]
    return f"churn-{tag}", f"churn-events-{tag}", f"word{tag}"


def _refused(hub, user: str, code: str) -> str:
    """Run ``code`` in ``user``'s kernel and expect the service to refuse it (Forbidden)."""
    out, error = hub.run_in_kernel(user, CLIENT + code)
    assert error is not None and error.startswith("Forbidden"), f"{user} was not refused: {error!r}\n{out}"
    return error


def test_catalog_loop_between_real_kernels(store_hub):
    hub = store_hub
    project, asset, word = _names()

    # alice creates a project and publishes a small DataFrame from her kernel
    out = kernel_ok(hub, "alice", CLIENT + f"""
import pandas as pd
c.create_project({project!r}, description="team-mode loop")
df = pd.DataFrame({{"customer": [1, 2, 3, 4, 5], "churned": [True, False, True, False, False]}})
print(c.publish(df, name={asset!r}, project={project!r}, description="churn events {word}")["name"])
""")
    assert out.strip() == asset

    # bob finds it by a word of its description, but may not read its data
    out = kernel_ok(hub, "bob", CLIENT + f"print(sorted(a['name'] for a in c.search({word!r})))")
    assert out.strip() == repr([asset])
    error = _refused(hub, "bob", f"c.use({asset!r})")
    assert asset in error or "access" in error.lower(), error

    # bob subscribes with a reason; mallory can neither use the asset nor decide bob's request
    out = kernel_ok(hub, "bob", CLIENT + f"""
r = c.subscribe({asset!r}, reason="retrain the churn model")
print(r["id"], r["status"], r["requester"])
""")
    request_id, status, requester = out.split()
    assert (status, requester) == ("pending", "bob")
    _refused(hub, "mallory", f"c.use({asset!r})")
    _refused(hub, "mallory", f"c.approve({request_id})")

    # alice sees it among her incoming requests and approves it
    out = kernel_ok(hub, "alice", CLIENT + f"""
pending = [r for r in c.requests(incoming=True, status="pending") if r["asset"] == {asset!r}]
print([(r["id"], r["requester"], r["reason"]) for r in pending])
print(c.approve({request_id}, comment="ok")["status"])
""")
    assert out.splitlines() == [repr([(int(request_id), "bob", "retrain the churn model")]), "accepted"]

    # bob now gets the right rows
    out = kernel_ok(hub, "bob", CLIENT + f"""
df = c.use({asset!r})
print(df["customer"].tolist(), int(df["churned"].sum()))
""")
    assert out.strip() == "[1, 2, 3, 4, 5] 2"

    # alice revokes bob's subscription; bob is refused again
    out = kernel_ok(hub, "alice", CLIENT + f"""
subs = [s for s in c.subscriptions(incoming=True) if s["asset"] == {asset!r} and s["subscriber"] == "bob"]
print(c.revoke(subs[0]["id"])["status"])
""")
    assert out.strip() == "revoked"
    _refused(hub, "bob", f"c.use({asset!r})")


def test_each_kernel_acts_as_its_own_hub_user(hub):
    for user in ("alice", "bob", "mallory"):
        out = kernel_ok(hub, user, CLIENT + """
import os, pwd
me = c.whoami()
print(pwd.getpwuid(os.getuid()).pw_name, me["name"], sorted(me["groups"]))
""")
        groups = ["data-science"] if user == "bob" else []
        assert out.split(" ", 2) == [user, user, repr(groups) + "\n"], out
        assert ps_user(kernel_process(hub, user).pid) == user
        assert ps_user(server_process(hub, user).pid) == user


def test_service_runs_as_mlgov_with_a_private_data_dir(hub):
    assert ps_user(service_process(hub).pid) == SERVICE_USER
    mlgov_uid = os.stat(f"/proc/{service_process(hub).pid}").st_uid
    for path, mode in ((hub.data_dir, 0o700), (hub.config_file, 0o600)):
        st = os.stat(path)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (mlgov_uid, mode), path
    assert any(hub.data_dir.iterdir()), "the service keeps its store and key in its data dir"
    # from a user's kernel the service's files cannot be reached
    out, error = hub.run_in_kernel("mallory", f"import os; os.listdir({str(hub.data_dir)!r})")
    assert error is not None and error.startswith("PermissionError"), (out, error)
    out, error = hub.run_in_kernel("mallory", f"open({str(hub.config_file)!r}).read()")
    assert error is not None and error.startswith("PermissionError"), (out, error)


def test_users_servers_and_kernels_hold_no_service_credential(store_hub):
    hub = store_hub
    kernel_ok(hub, "alice", "print(1)")  # her server and kernel are up
    service_env = environ(service_process(hub).pid)
    for proc in (server_process(hub, "alice"), kernel_process(hub, "alice")):
        env = environ(proc.pid)
        text = "\n".join(f"{k}={v}" for k, v in env.items())
        assert "MLGOV_DB_URL" not in env, proc
        assert "postgresql" not in text and ".pem" not in text, (proc, text)
        assert env["JUPYTERHUB_USER"] == "alice"
        assert env.get("MLGOV_SERVICE_URL") == hub.service_url
        # the token in there is alice's own server token, never the service's
        assert env["JUPYTERHUB_API_TOKEN"] != service_env["JUPYTERHUB_API_TOKEN"]
    # the kernel was told where the service is: team mode, not a personal in-process store
    out = kernel_ok(hub, "alice", "import os; print(os.environ['MLGOV_SERVER_URL'])")
    assert out.strip() == hub.service_url
    if hub.db_url:
        assert hub.db_url not in "\n".join(service_env.values()), "the store URL is in the config file only"

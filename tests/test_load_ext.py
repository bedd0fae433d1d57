"""`%load_ext mlgov_jupyter` stays light: heavy libraries load on first use, not at load time."""

import os
import subprocess
import sys

CODE = """
import sys
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
before = set(sys.modules)
sh.run_line_magic("load_ext", "mlgov_jupyter")
heavy = ("pandas", "pydantic", "sqlalchemy", "scipy", "sklearn", "pyarrow", "weasyprint", "cedarpy")
print(sorted(m for m in heavy if m in sys.modules and m not in before) or "light",
      "mlgov_client" in sh.user_ns)
"""


def test_load_ext_imports_nothing_heavy():
    env = {**os.environ, "MLGOV_SERVER_URL": "http://127.0.0.1:9/"}
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["light", "True"], (out.stdout, out.stderr)


def test_transport_base_matches_the_api():
    from mlgov_jupyter import api
    from mlgov_jupyter.kernel import transport

    assert transport.BASE == api.BASE

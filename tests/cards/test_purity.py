import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import mlgov_jupyter.core.cards as cards
light = sorted(m for m in ("sklearn", "weasyprint", "yaml", "pandas", "nbconvert") if m in sys.modules)
cards.validate({"intended_uses": {"risk_rating": "Low"}})
cards.render_html({"name": "m", "content": {}})
cards.card_mimebundle({"name": "m", "content": {}})
cards.diff({}, {"a": 1})
forbidden = sorted(m for m in ("tornado", "IPython", "ipywidgets", "jupyter_server") if m in sys.modules)
print(light, forbidden)
"""


def test_core_cards_is_pure_and_lazy():
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"

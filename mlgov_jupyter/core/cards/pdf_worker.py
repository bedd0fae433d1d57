"""Render one card as PDF in a process of its own: the card's JSON on stdin, the PDF on stdout.

The service runs this with a timeout and kills it when time is up, so a card that is slow to lay
out costs one bounded worker process, never the server's threads or memory.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from .render import render_pdf

    card = json.load(sys.stdin)
    sys.stdout.buffer.write(render_pdf(card))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()

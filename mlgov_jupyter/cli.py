"""``mlgov`` command line: administration outside a notebook (audit verification)."""

from __future__ import annotations

import argparse
import getpass
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlgov", description="mlgov-jupyter administration")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("audit-verify", help="walk the audit hash chain; exit 1 if broken")
    verify.add_argument("--db-url", help="SQLAlchemy URL (default: the Jupyter data dir's SQLite file)")
    args = parser.parse_args(argv)

    from .service import Actor, GovernanceService
    from .store.db import Store

    store = Store(args.db_url)
    user = getpass.getuser()
    service = GovernanceService(store=store, admin_users=frozenset({user}))
    result = service.audit_verify(Actor(user))
    print(("OK: " if result["ok"] else "BROKEN: ") + result["message"])
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

from .base import Subcommand


class Deploy(Subcommand):
    name = "deploy"
    help = ("Record a deployment of a model revision, with a capture dataset: "
            "%mlgov deploy NAME --model M [--revision N] [--environment staging] [--no-capture]")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--model", required=True)
        parser.add_argument("--revision", type=int)
        parser.add_argument("--environment", default="production")
        parser.add_argument("--no-capture", action="store_true", help="no capture dataset")

    def run(self, args, ctx):
        d = ctx.client.deploy(args.name, model=args.model, revision=args.revision, environment=args.environment,
                              capture=not args.no_capture)
        print(f"deployment {d['name']}: {d['model']} revision {d['model_revision']} in {d['environment']}"
              + (f", capturing to {d['capture']} (mlgov_jupyter.capture(model, deployment={d['name']!r}))"
                 if d["capture"] else ""))
        return None


class Deployments(Subcommand):
    name = "deployments"
    help = "Deployments with their model revision, status, captured rows, monitors and alert state"

    def run(self, args, ctx):
        from ..widgets.table import Table

        return deployments_table(ctx.client)


def deployments_table(client):
    from ..widgets.table import Table

    monitors = client.monitors()
    alerts = client.alerts()
    rows = []
    for d in client.deployments():
        mine = [m for m in monitors if m["deployment"] == d["name"]]
        open_ = [a for a in alerts if a["deployment"] == d["name"]]
        last = max((m["last_run_at"] for m in mine if m["last_run_at"]), default=None)
        rows.append({"deployment": d["name"], "model": f"{d['model']} r{d['model_revision']}",
                     "environment": d["environment"], "status": d["status"],
                     "monitors": ", ".join(f"{m['name']} ({m['status']})" for m in mine) or "none",
                     "last run": last[:19].replace("T", " ") if last else "never",
                     "alert": ", ".join(sorted({a["kind"] for a in open_})) or "OK",
                     "captured rows": d["captured_rows"]})
    return Table(["deployment", "model", "environment", "status", "monitors", "last run", "alert", "captured rows"],
                 rows, title="deployments" if rows else "", empty="no deployments (%mlgov deploy NAME --model M)")

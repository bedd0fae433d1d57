import json

from IPython.core.error import UsageError

from .base import Subcommand


class Monitor(Subcommand):
    name = "monitor"
    help = ("Stored monitors the service runs on a schedule: %mlgov monitor create NAME --deployment D "
            "--baseline VAR [--type data_quality|model_quality|bias] [--schedule hourly|daily|'CRON'] "
            "[--data DATASET --model M] [--thresholds JSON] [--evaluation-period N --datapoints-to-alert N]; "
            "%mlgov monitor list [--deployment D] | show NAME | run NAME | start NAME | stop NAME | delete NAME")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "show", "run", "start", "stop", "delete"])
        parser.add_argument("name", nargs="?")
        parser.add_argument("--deployment")
        parser.add_argument("--model")
        parser.add_argument("--data")
        parser.add_argument("--type", default="data_quality",
                            choices=["data_quality", "model_quality", "bias", "attribution"])
        parser.add_argument("--baseline", help="a variable holding a Baseline (mon.fit_baseline)")
        parser.add_argument("--schedule", default="hourly")
        parser.add_argument("--thresholds", help='JSON, e.g. \'{"columns": {"age": 0.2}, "correction": "bh"}\'')
        parser.add_argument("--evaluation-period", type=int, default=1)
        parser.add_argument("--datapoints-to-alert", type=int, default=1)

    def run(self, args, ctx):
        client = ctx.client
        if args.action == "list":
            return monitors_table(client.monitors(args.deployment))
        if not args.name:
            raise UsageError(f"%mlgov monitor {args.action}: name the monitor")
        if args.action == "create":
            if not args.baseline:
                raise UsageError("%mlgov monitor create: --baseline VAR (a Baseline from mon.fit_baseline)")
            try:
                thresholds = json.loads(args.thresholds) if args.thresholds else None
            except ValueError:
                raise UsageError("%mlgov monitor create: --thresholds is not valid JSON") from None
            m = client.create_monitor(args.name, deployment=args.deployment, type=args.type,
                                      baseline=ctx.variable(args.baseline), schedule=args.schedule, data=args.data,
                                      model=args.model, thresholds=thresholds,
                                      evaluation_period=args.evaluation_period,
                                      datapoints_to_alert=args.datapoints_to_alert)
            print(f"monitor {m['name']} ({m['monitor_type']}) of {m['deployment'] or m['model']}: "
                  f"{m['schedule']}, next run {(m['next_run_at'] or '')[:19].replace('T', ' ')} UTC")
            return None
        if args.action == "run":
            e = client.run_monitor(args.name, progress=True)
            tail = f": {e['failure_reason']}" if e.get("failure_reason") else \
                f", {e['violations']} violations" + (f", drifted: {', '.join(e['summary']['drifted_columns'])}"
                                                     if e["summary"].get("drifted_columns") else "")
            print(f"monitor {args.name} execution #{e['id']}: {e['status']}{tail}")
            return None
        if args.action in ("start", "stop"):
            m = getattr(client, f"{args.action}_monitor")(args.name)
            print(f"monitor {m['name']}: {m['status']}")
            return None
        if args.action == "delete":
            client.delete_monitor(args.name)
            print(f"monitor {args.name} deleted (its executions stay in the model's history)")
            return None
        from ..widgets.monitor_view import MonitorView

        return MonitorView(client.monitor(args.name))


def monitors_table(monitors):
    from ..widgets.table import Table

    rows = [{"monitor": m["name"], "type": m["monitor_type"], "watches": m["deployment"] or f"{m['model']} on {m['data']}",
             "schedule": m["schedule"], "status": m["status"],
             "last run": (f"{m['last_execution']['status']} {m['last_execution']['created_at'][:19].replace('T', ' ')}"
                          if m["last_execution"] else "never"),
             "alert": ", ".join(m["open_alerts"]) or "OK"} for m in monitors]
    return Table(["monitor", "type", "watches", "schedule", "status", "last run", "alert"], rows,
                 empty="no monitors (%mlgov monitor create NAME --deployment D --baseline VAR)")

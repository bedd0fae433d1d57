from .base import Subcommand


class Publish(Subcommand):
    name = "publish"
    help = "Publish a DataFrame, model, file or URI: %mlgov publish VAR --name N [--project P] ..."

    def add_arguments(self, parser):
        parser.add_argument("variable", help="a notebook variable, or a file path / URI")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=("dataset", "model", "feature_group"))
        parser.add_argument("--project")
        # not given: a new revision keeps the asset's (a new asset: none, and internal)
        parser.add_argument("--description")
        parser.add_argument("--tags", help="comma separated")
        parser.add_argument("--glossary", help="comma separated glossary terms")
        parser.add_argument("--classification", choices=("public", "internal", "confidential", "pii"))
        parser.add_argument("--record-id")
        parser.add_argument("--event-time")

    def run(self, args, ctx):
        ns = ctx.shell.user_ns
        obj = ns[args.variable] if args.variable in ns else args.variable
        if obj is args.variable and "://" not in obj and "/" not in obj and "." not in obj:
            obj = ctx.variable(args.variable)  # raises: no such variable
        asset = ctx.client.publish(
            obj, name=args.name, kind=args.kind, project=args.project,
            description=args.description, tags=_split(args.tags), glossary_terms=_split(args.glossary),
            classification=args.classification, record_id=args.record_id, event_time=args.event_time)
        print(f"published {asset['name']} revision {asset['revision']} in project {asset['project']}"
              f" ({asset['content_hash'] or asset['location']})")
        return None


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]

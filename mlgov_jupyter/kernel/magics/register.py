from .base import Subcommand
from .publish import _split


class Register(Subcommand):
    name = "register"
    help = ("Register data in place as a dataset (read by the service, never copied): "
            "%mlgov register NAME LOCATION [--format parquet|csv] [--project P] ...")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("location", help="an S3/GCS/ADLS prefix or a path the mlgov service may read")
        parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
        parser.add_argument("--project")
        parser.add_argument("--description")
        parser.add_argument("--tags", help="comma separated")
        parser.add_argument("--classification", choices=("public", "internal", "confidential", "pii"))

    def run(self, args, ctx):
        asset = ctx.client.register(args.name, args.location, format=args.format, project=args.project,
                                    description=args.description, tags=_split(args.tags),
                                    classification=args.classification)
        print(f"registered {asset['name']} revision {asset['revision']} in project {asset['project']}: "
              f"{asset['row_count']} rows read in place")
        return None

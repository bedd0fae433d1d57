"""%mlgov card ...: model cards from the notebook."""

from __future__ import annotations

from IPython.core.error import UsageError

from .base import Subcommand

ACTIONS = ("new", "show", "list", "edit", "submit", "approve", "send-back", "archive", "diff",
           "export", "import", "mlflow")


class Card(Subcommand):
    name = "card"
    help = "Model cards: new|show|list|edit|submit|approve|send-back|archive|diff|export|import|mlflow"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        new = sub.add_parser("new", help="autopopulate a card from a fitted model in this session")
        new.add_argument("model", help="the model variable")
        new.add_argument("--name", required=True)
        new.add_argument("--train", help="X,y variables of the training data")
        new.add_argument("--test", help="X,y variables of the test data")
        new.add_argument("--project")
        new.add_argument("--model-asset", help="catalog model the card belongs to (default: published now)")
        new.add_argument("--bias-facet", help="a column of the test data: adds Clarify's bias metrics")
        new.add_argument("--bias-values", help="comma separated: the facet's sensitive values")
        for action in ("show", "edit", "submit", "approve", "send-back", "archive"):
            p = sub.add_parser(action)
            p.add_argument("card")
            p.add_argument("--version", type=int)
            p.add_argument("--comment", default="")
        lst = sub.add_parser("list", help="cards, filtered by words of the card, status, risk rating")
        lst.add_argument("text", nargs="*", help="words of the card (names, description, intended uses, ...)")
        lst.add_argument("--status", choices=("Draft", "PendingReview", "Approved", "Archived"))
        lst.add_argument("--risk", choices=("High", "Medium", "Low", "Unknown"))
        diff = sub.add_parser("diff")
        diff.add_argument("card")
        diff.add_argument("a", type=int)
        diff.add_argument("b", type=int)
        export = sub.add_parser("export")
        export.add_argument("card")
        export.add_argument("--format", choices=("pdf", "html", "json", "markdown"), default="pdf")
        export.add_argument("--version", type=int)
        export.add_argument("--output", default=".",
                            help="a folder (existing, ending in /, or a new name without extension: "
                                 "NAME-vN.EXT is written inside) or a file path (default: here)")
        export.add_argument("--organisation", help="organisation name on top (PDF, HTML; default: the server's)")
        export.add_argument("--logo", help="logo image file on top (PDF, HTML; default: the server's)")
        imp = sub.add_parser("import", help="create a card from SageMaker model card JSON")
        imp.add_argument("file")
        imp.add_argument("--name")
        imp.add_argument("--model", required=True, help="catalog model the card belongs to")
        mlf = sub.add_parser("mlflow", help="a card from an MLflow run or registered model version")
        mlf.add_argument("source", help="a run id, or models:/NAME/VERSION")
        mlf.add_argument("--name", required=True, help="the card")
        mlf.add_argument("--model", required=True, help="catalog model the card belongs to")
        mlf.add_argument("--tracking-uri", help="MLflow's tracking URI (default: MLflow's own)")

    def run(self, args, ctx):
        client = ctx.client
        action = args.action
        if action == "new":
            if (args.bias_facet is None) != (args.bias_values is None):
                raise UsageError("%mlgov card new: give --bias-facet and --bias-values together")
            values = [v.strip() for v in args.bias_values.split(",") if v.strip()] if args.bias_values else None
            return client.card_from_session(
                ctx.variable(args.model), args.name, train=_pair(ctx, args.train),
                test=_pair(ctx, args.test), project=args.project, model_asset=args.model_asset,
                bias_facet=args.bias_facet, bias_values=values)
        if action == "mlflow":
            return client.card_from_mlflow(args.source, args.name, args.model, tracking_uri=args.tracking_uri)
        if action == "list":
            from ..widgets.table import Table

            rows = [{"card": r["name"], "model": r["model"], "status": r["status"], "risk": r["risk_rating"],
                     "version": f"v{r['version']}", "updated": (r["updated_at"] or "")[:19].replace("T", " ")}
                    for r in client.cards(" ".join(args.text), status=args.status, risk=args.risk)]
            filtered = args.text or args.status or args.risk
            return Table(["card", "model", "status", "risk", "version", "updated"], rows,
                         empty="no model cards match" if filtered else "no model cards")
        if action == "show":
            return client.card(args.card, version=args.version)
        if action == "edit":
            from ..widgets.card_form import CardForm

            card = client.card(args.card).card
            return CardForm.for_card(card, lambda content: client.update_card(args.card, content=content).card)
        if action in ("submit", "approve", "send-back", "archive"):
            method = getattr(client, f"{action.replace('-', '_')}_card")
            card = method(args.card, comment=args.comment).card
            print(f"model card {card['name']} v{card['version']} is {card['status']}")
            return None
        if action == "diff":
            from ...core.cards import format_diff

            print(format_diff(client.card_diff(args.card, args.a, args.b)) or "no changes")
            return None
        if action == "export":
            path = client.export_card(args.card, args.format, version=args.version, path=args.output,
                                      organisation=args.organisation, logo=args.logo)
            import os

            print(f"wrote {os.path.abspath(path)}")
            return None
        return client.import_card(args.file, name=args.name, model=args.model)


def _pair(ctx, spec: str | None):
    if not spec:
        return None
    names = [n.strip() for n in spec.split(",")]
    if len(names) != 2:
        from IPython.core.error import UsageError

        raise UsageError(f"%mlgov card new: expected X,y variable names, got {spec!r}")
    return ctx.variable(names[0]), ctx.variable(names[1])

"""``%mlgov drift REFERENCE_DF CURRENT_DF``: baseline the reference, check the current data, show the panel.

Monitoring (scipy, the engine, ipywidgets) is imported inside run(), so ``%load_ext`` stays fast.
"""

from __future__ import annotations

from IPython.core.error import UsageError

from .base import Subcommand


def add_check_options(parser) -> None:
    parser.add_argument("--method", help="drift test for every column: ks, chisquare, wasserstein, "
                                         "jensenshannon, psi (default: chosen by type and size)")
    parser.add_argument("--correction", choices=["bh", "bonferroni", "none"],
                        help="multiple-testing correction across columns (default: bh)")
    parser.add_argument("--drift-share", type=float, help="dataset drift when this share of columns drifts (0.5)")
    parser.add_argument("--model", metavar="NAME", help="store the result as a monitoring execution of model NAME")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def current_data(ctx, name: str):
    """A notebook variable (DataFrame, iterator of DataFrames, Parquet path) or a Parquet path."""
    import os

    if name in ctx.shell.user_ns:
        return ctx.shell.user_ns[name]
    if os.path.exists(name):
        return name
    return ctx.variable(name)  # raises the UsageError naming it


def run_check(ctx, baseline, current, args, title: str):
    from ...kernel.widgets.drift_panel import register_formatter, run_check_with_panel

    register_formatter(ctx.shell)
    report, _panel = run_check_with_panel(baseline, current, display_progress=not args.quiet, title=title,
                                          method=args.method, correction=args.correction,
                                          drift_share=args.drift_share)
    if args.model:
        record(ctx, args.model, report)
    return report


def record(ctx, model: str, report) -> None:
    """Store the report as a monitoring execution of ``model`` through the mlgov client (the service)."""
    client = ctx.client
    if not hasattr(client, "record_execution"):
        raise UsageError("%mlgov: this mlgov client cannot store monitoring executions yet")
    client.record_execution(model=model, monitor_type="data_quality", report=report.to_dict())


class Drift(Subcommand):
    name = "drift"
    help = ("Drift, data quality, model quality and bias of CURRENT_DF against REFERENCE_DF, shown inline: "
            "r = %mlgov drift REFERENCE_DF CURRENT_DF [--target y] [--prediction p] [--probability s] "
            "[--sensitive col [--facet-values a,b]] [--model NAME]")

    def add_arguments(self, parser):
        parser.add_argument("reference", metavar="REFERENCE_DF")
        parser.add_argument("current", metavar="CURRENT_DF")
        parser.add_argument("--target", help="ground-truth column")
        parser.add_argument("--prediction", help="predicted label/value column")
        parser.add_argument("--probability", help="predicted probability column (binary)")
        parser.add_argument("--sensitive", help="facet column for bias metrics")
        parser.add_argument("--facet-values", help="comma-separated values of the sensitive group "
                                                   "(default: the least frequent value)")
        parser.add_argument("--problem-type", choices=["Regression", "BinaryClassification",
                                                       "MulticlassClassification"])
        add_check_options(parser)

    def run(self, args, ctx):
        import pandas as pd

        from ... import monitoring as mon

        reference = ctx.variable(args.reference)
        if not isinstance(reference, pd.DataFrame):
            raise UsageError(f"%mlgov drift: {args.reference} is a {type(reference).__name__}, not a DataFrame")
        current = current_data(ctx, args.current)
        facet_values = None
        if args.facet_values:
            facet_values = [_parse_value(v, reference, args.sensitive) for v in args.facet_values.split(",")]
        baseline = mon.fit_baseline(reference, target=args.target, prediction=args.prediction,
                                    probability=args.probability, sensitive=args.sensitive,
                                    problem_type=args.problem_type, facet_values=facet_values)
        return run_check(ctx, baseline, current, args, title=f"{args.current} vs {args.reference}")


def _parse_value(text: str, df, column):
    """'1' -> 1 when the facet column is numeric."""
    import pandas as pd

    text = text.strip()
    if column and column in df.columns and pd.api.types.is_numeric_dtype(df[column].dtype):
        try:
            num = float(text)
            return int(num) if num.is_integer() else num
        except ValueError:
            pass
    return text

"""``%mlgov sagemaker import|export``: SageMaker's monitoring files into a Baseline or a Report, and back.

    b = %mlgov sagemaker import statistics.json constraints.json
    b = %mlgov sagemaker import model_quality/ --target y --prediction y_hat
    r = %mlgov sagemaker import constraint_violations.json [--model NAME]
    %mlgov sagemaker export b out_dir/

The engine is imported inside run(), so ``%load_ext`` stays fast.
"""

from __future__ import annotations

import os

from IPython.core.error import UsageError

from .base import Subcommand


class Sagemaker(Subcommand):
    name = "sagemaker"
    help = ("SageMaker's monitoring files: b = %mlgov sagemaker import FILE_OR_DIR [...] [--target y] "
            "[--prediction p] [--probability s] [--facet F --facet-value V] [--group G] (statistics.json, "
            "constraints.json, model-quality files, Clarify analysis.json; constraint_violations.json gives a "
            "report [--model NAME]); %mlgov sagemaker export BASELINE DIR")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "export"])
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--target", help="ground-truth column (model quality)")
        parser.add_argument("--prediction", help="predicted label/value column")
        parser.add_argument("--probability", help="predicted probability column (binary)")
        parser.add_argument("--facet", help="facet of a Clarify analysis.json holding several")
        parser.add_argument("--facet-value", help="facet value of a Clarify analysis.json holding several")
        parser.add_argument("--group", help="group column of CDDL/CDDPL")
        parser.add_argument("--explanation-label", help="label of a Clarify explainability analysis.json")
        parser.add_argument("--model", metavar="NAME", help="store an imported violations report as a monitoring "
                                                            "execution of model NAME")

    def run(self, args, ctx):
        from ... import monitoring as mon

        if args.action == "export":
            if len(args.paths) != 2:
                raise UsageError("%mlgov sagemaker export BASELINE DIR: a Baseline variable (or file) and a directory")
            name, directory = args.paths
            if name in ctx.shell.user_ns:
                baseline = ctx.shell.user_ns[name]
            elif os.path.exists(name):
                baseline = mon.Baseline.load(name)
            else:
                raise UsageError(f"no variable or baseline file named {name!r}")
            if not isinstance(baseline, mon.Baseline):
                raise UsageError(f"%mlgov sagemaker export: {name} is a {type(baseline).__name__}, not a Baseline")
            paths = baseline.save_sagemaker(directory)
            print("\n".join(paths.values()))
            return paths
        for p in args.paths:
            if not os.path.exists(p):
                raise UsageError(f"no such file or directory: {p}")
        kwargs = {k: getattr(args, k) for k in ("target", "prediction", "probability", "facet", "facet_value",
                                                 "group", "explanation_label") if getattr(args, k) is not None}
        if len(args.paths) == 1:
            out = mon.read_sagemaker(args.paths[0], **kwargs)
        else:
            out = mon.from_sagemaker(*args.paths, **kwargs)
        if isinstance(out, mon.Report) and args.model:
            from .drift import record

            record(ctx, args.model, out)
        return out

"""``%mlgov check BASELINE CURRENT_DF``: run a saved baseline's checks on new data, show the panel."""

from __future__ import annotations

import os

from IPython.core.error import UsageError

from .base import Subcommand
from .drift import add_check_options, current_data, run_check


class Check(Subcommand):
    name = "check"
    help = ("Check CURRENT_DF (a DataFrame or Parquet path) against BASELINE (a Baseline variable, a saved "
            "baseline file, SageMaker's baseline files or a folder of them): "
            "r = %mlgov check BASELINE CURRENT_DF [--model NAME] [--correction bh|bonferroni|none]")

    def add_arguments(self, parser):
        parser.add_argument("baseline", metavar="BASELINE")
        parser.add_argument("current", metavar="CURRENT_DF")
        add_check_options(parser)

    def run(self, args, ctx):
        from ... import monitoring as mon

        if args.baseline in ctx.shell.user_ns:
            baseline = ctx.shell.user_ns[args.baseline]
        elif os.path.exists(args.baseline):  # a file, or a folder of SageMaker's output (Baseline.load reads both)
            baseline = mon.Baseline.load(args.baseline)
        else:
            raise UsageError(f"no variable or baseline file or folder named {args.baseline!r}")
        if isinstance(baseline, (str, os.PathLike)):
            baseline = mon.Baseline.load(baseline)
        if not isinstance(baseline, mon.Baseline):
            raise UsageError(f"%mlgov check: {args.baseline} is a {type(baseline).__name__}, not a Baseline "
                             "(make one with mlgov_jupyter.monitoring.fit_baseline)")
        current = current_data(ctx, args.current)
        return run_check(ctx, baseline, current, args, title=f"{args.current} vs baseline {args.baseline}")

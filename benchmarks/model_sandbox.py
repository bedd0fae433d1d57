"""What the isolated model's sandbox (kernel/sandbox.py) costs: the same worker with
``sandbox.enter()`` real or replaced by a no-op, interleaved rounds; ``use()`` (spawn, sandbox,
imports, load, describe) and ``predict`` on 1,000 rows, medians; then the CPU seconds of a worker
start (enter or not, then ``import skops.io``), which the machine's other load disturbs less.

    python benchmarks/model_sandbox.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=4)
    rounds = ap.parse_args().rounds
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgov_jupyter.kernel.isolated_model as im

    warnings.filterwarnings("ignore")
    real_popen, off = subprocess.Popen, {"on": False}

    def popen(argv, **kw):  # the worker's own entry, with enter() a no-op when "off"
        if "mlgov_jupyter.kernel.isolated_model" in argv:
            code = ("from mlgov_jupyter.kernel import sandbox, isolated_model as m\n"
                    + ("sandbox.enter = lambda: 'off'\n" if off["on"] else "") + "m._serve()")
            argv = [argv[0], "-I", "-c", code]
        return real_popen(argv, **kw)

    im.subprocess.Popen = popen
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1000, 4)), columns=list("abcd"))
    y = (X.a > 0).astype(int)
    models = [("pipeline(scaler, logreg)", make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)),
              ("random forest, 100 trees", RandomForestClassifier(100, random_state=0).fit(X, y))]
    res: dict = {}
    for _ in range(rounds):
        for unsandboxed in (True, False):
            off["on"] = unsandboxed
            for label, model in models:
                data = sio.dumps(model)
                t = time.perf_counter()
                m = im.load_isolated("m", data, sio.get_untrusted_types(data=data))
                first = time.perf_counter() - t
                per = []
                for _ in range(30):
                    t = time.perf_counter()
                    m.predict(X)
                    per.append(time.perf_counter() - t)
                m.close()
                r = res.setdefault((label, unsandboxed), ([], []))
                r[0].append(first)
                r[1].extend(per)
    for (label, unsandboxed), (firsts, per) in sorted(res.items()):
        print(f"{label:26s} {'unsandboxed' if unsandboxed else 'sandboxed  '}: use() median "
              f"{statistics.median(firsts):.2f} s; predict 1,000 rows median {statistics.median(per) * 1e3:.2f} ms")
    code = ("from mlgov_jupyter.kernel import sandbox\nimport sys\n"
            "if sys.argv[1] == 'on': sandbox.enter()\nimport skops.io\n")
    cpu: dict = {"off": [], "on": []}
    for _ in range(rounds * 2):
        for mode in ("off", "on"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-I", "-c", code, mode], check=True, stderr=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[mode].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(f"worker start, CPU seconds (median): unsandboxed {statistics.median(cpu['off']):.3f}, "
          f"sandboxed {statistics.median(cpu['on']):.3f}")


if __name__ == "__main__":
    main()

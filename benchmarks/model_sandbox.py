"""What the isolated model's sandbox (kernel/sandbox.py) and bounds cost: the same worker in three
variants, interleaved rounds: ``unsandboxed`` (``sandbox.enter()`` a no-op), ``data limit only``
(sandboxed, RLIMIT_DATA alone and glibc's default malloc arenas: the bounds before R11's F3) and
``sandboxed`` (as shipped: RLIMIT_DATA, RLIMIT_AS, MALLOC_ARENA_MAX). For each: ``use()`` (spawn,
sandbox, imports, load, describe) and ``predict`` on 1,000 rows, medians, and the worker's virtual
size and resident memory after the predicts (VmSize, VmRSS); then the CPU seconds of a worker
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
    real_popen, variant = subprocess.Popen, {"now": "sandboxed"}
    data_only = ("import resource\n"
                 "def data_only(headroom):\n"
                 "    held = [int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmData:')][0]\n"
                 "    resource.setrlimit(resource.RLIMIT_DATA, (held + headroom, held + headroom))\n"
                 "m._limit_memory = data_only\n")

    def popen(argv, **kw):  # the worker's own entry, in the variant measured now
        if "mlgov_jupyter.kernel.isolated_model" in argv:
            code = "from mlgov_jupyter.kernel import sandbox, isolated_model as m\n"
            if variant["now"] == "unsandboxed":
                code += "sandbox.enter = lambda: 'off'\n"
            if variant["now"] == "data limit only":
                code += data_only
                kw["env"] = {k: v for k, v in kw["env"].items() if k != "MALLOC_ARENA_MAX"}
            argv = [argv[0], "-I", "-c", code + "m._serve()"]
        return real_popen(argv, **kw)

    def status(pid: int) -> dict:
        with open(f"/proc/{pid}/status") as f:
            return {line.split(":")[0]: int(line.split()[1]) >> 10 for line in f
                    if line.startswith(("VmSize:", "VmRSS:"))}

    im.subprocess.Popen = popen
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1000, 4)), columns=list("abcd"))
    y = (X.a > 0).astype(int)
    models = [("pipeline(scaler, logreg)", make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)),
              ("random forest, 100 trees", RandomForestClassifier(100, random_state=0).fit(X, y))]
    res: dict = {}
    variants = ("unsandboxed", "data limit only", "sandboxed")
    for _ in range(rounds):
        for name in variants:
            variant["now"] = name
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
                mem = status(m._worker.proc.pid)
                m.close()
                r = res.setdefault((label, name), ([], [], []))
                r[0].append(first)
                r[1].extend(per)
                r[2].append(mem)
    for label, _ in models:
        base = res[(label, "unsandboxed")]
        for name in variants:
            firsts, per, mems = res[(label, name)]
            use, pred = statistics.median(firsts), statistics.median(per)
            print(f"{label:26s} {name:16s}: use() median {use:.2f} s "
                  f"({use / statistics.median(base[0]):.2f}x unsandboxed); predict 1,000 rows median "
                  f"{pred * 1e3:.2f} ms ({pred / statistics.median(base[1]):.2f}x); worker VmSize "
                  f"{statistics.median(x['VmSize'] for x in mems)} MiB, VmRSS "
                  f"{statistics.median(x['VmRSS'] for x in mems)} MiB")
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

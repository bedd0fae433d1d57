"""Which types a skops model may hold: one reviewed definition, shared by the service (refuses a
model at publish) and the client (loads only what skops trusts by default, plus what its reader
names).

A reader's ``use()`` loads, unnamed, only skops' own defaults (scikit-learn's estimators, numpy's
ufuncs), as skops itself does: any other type can be built by the file with publisher-chosen
arguments and state (skops picks the loader from the file), which for a tree or KD-tree index, a
distance metric or even a ``numpy.dtype`` means memory read or written out of bounds in the
reader's process. The reader names those types (``use(name, trusted=[...])``) when they trust the
publisher. Nothing is trusted by module prefix and nothing is imported to decide: a name such as
numpy.distutils.fcompiler.gnu.Popen is subprocess.Popen re-exported, and importing a module
chosen by a publisher (numpy.f2py.__main__) runs it.
"""

from __future__ import annotations

# What a model may hold at all beyond skops' defaults (the service refuses anything else at
# publish): the helper objects of common scikit-learn models, reviewed one by one (found with
# skops.io.get_untrusted_types on fitted models). Readers still name them to load them.
PUBLISHABLE_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
})


def untrusted_types(data: bytes, trusted: list[str] | None = None) -> list[str]:
    """The types in a skops file beyond skops' defaults and ``trusted`` (exact names), read from
    its schema without loading it or importing anything. ValueError if no skops file."""
    import skops.io as sio

    try:
        types = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip that is no skops file, a broken schema
        raise ValueError(f"not a skops file ({type(exc).__name__})") from None
    allowed = set(trusted or [])
    return [t for t in types if t not in allowed]


def unpublishable_types(data: bytes) -> list[str]:
    """What a skops model may not hold at all: types beyond skops' defaults and the reviewed
    publishable list. ValueError if no skops file."""
    return untrusted_types(data, trusted=sorted(PUBLISHABLE_TYPES))

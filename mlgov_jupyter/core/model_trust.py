"""Which types a skops model may hold without its reader naming them: one reviewed definition,
shared by the service (refuses such a model at publish) and the client (refuses to load it)."""

from __future__ import annotations

# Beyond skops' own defaults (which already cover scikit-learn's estimators and numpy's ufuncs),
# these exact types load without being named: the helper objects of common scikit-learn models,
# reviewed one by one (found with skops.io.get_untrusted_types on fitted models). Trees
# (sklearn.tree._tree.Tree, TreePredictor) and neighbour indexes (KDTree, BallTree) are left out
# on purpose, as skops leaves them out: their index arrays are used without bounds checks, so a
# crafted file crashes the reader's process; a reader who trusts the publisher names them. Nothing is
# trusted by module prefix and nothing is imported to decide: a name such as
# numpy.distutils.fcompiler.gnu.Popen is subprocess.Popen re-exported, and importing a module
# chosen by a publisher (numpy.f2py.__main__) runs it.
REVIEWED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
})


# Publishable, but loaded only when the reader names them (use(..., trusted=[...])): they run no
# code, yet index memory with the file's numbers.
NAMED_ONLY_TYPES = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
})


def library_class(name: str) -> bool:
    """Whether ``name`` (``module.attr``, as skops reports it) is on the reviewed list."""
    return name in REVIEWED_TYPES


def untrusted_types(data: bytes, trusted: list[str] | None = None) -> list[str]:
    """The types in a skops file beyond skops' defaults, the reviewed list and ``trusted``;
    read from its schema without loading it. ValueError if the bytes are no skops file."""
    import skops.io as sio

    try:
        types = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip that is no skops file, a broken schema
        raise ValueError(f"not a skops file ({type(exc).__name__})") from None
    allowed = set(trusted or [])
    return [t for t in types if t not in allowed and not library_class(t)]


def unpublishable_types(data: bytes) -> list[str]:
    """What a skops model may not hold at all (the service refuses it at publish): types beyond
    skops' defaults, the reviewed list and the named-only list. ValueError if no skops file."""
    return untrusted_types(data, trusted=sorted(NAMED_ONLY_TYPES))

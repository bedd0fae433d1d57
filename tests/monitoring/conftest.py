import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def mixed_frame(rng, n, shift=0.0, cat_shift=False):
    """numeric (normal, skewed, integer), a categorical and a string column."""
    p = np.array([0.4, 0.3, 0.2, 0.1])
    q = np.array([0.1, 0.2, 0.3, 0.4]) if cat_shift else p
    return pd.DataFrame({
        "a": rng.normal(0, 1, n) + shift,
        "b": rng.lognormal(0, 0.7, n),
        "i": rng.poisson(12, n).astype("int64"),
        "c": pd.Categorical(rng.choice(list("wxyz"), n, p=q), categories=list("wxyz")),
        "s": pd.Series(rng.choice(["red", "green", "blue"], n), dtype="str"),
    })

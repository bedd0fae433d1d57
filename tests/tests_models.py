"""A small fitted model in skops form, for tests that publish one over HTTP."""

import base64
from functools import lru_cache


@lru_cache(maxsize=1)
def model_b64() -> str:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    return base64.b64encode(sio.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))).decode()

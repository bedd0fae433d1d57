"""Fill model card content from a fitted model and the data of the live session.

Pure input -> output: nothing is stored here. ``card_from_session`` returns content that
passes :func:`~mlgov_jupyter.core.cards.schema.validate`; the service stores it as a version.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import subprocess
from importlib import metadata as _md
from typing import Any, Iterable, Mapping, Sequence

from mlgov_jupyter.core.errors import Invalid

from . import metrics as _m
from .schema import validate, validate_card_name

MAX_HYPER_PARAMETERS = 100
_ALWAYS_REPORTED = ("numpy", "pandas", "scikit-learn")


# --------------------------------------------------------------------------- data hashing


def data_hash(*parts: Any) -> str:
    """A stable content hash (``sha256:<hex>``) of DataFrames, Series, arrays or lists.

    Covers values, column names, dtypes kind and shape; the same data gives the same hash in
    any session, so the kernel can recognise a frame that came from the catalog.
    """
    h = hashlib.sha256()
    for part in parts:
        _hash_into(h, part)
    return "sha256:" + h.hexdigest()


def _hash_into(h: "hashlib._Hash", obj: Any) -> None:
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if obj is None:
        h.update(b"<none>")
        return
    if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series)):
        frame = obj.to_frame() if isinstance(obj, pd.Series) else obj
        h.update(b"<frame>")
        h.update(repr([str(c) for c in frame.columns]).encode())
        h.update(repr(frame.shape).encode())
        for col in frame.columns:
            s = frame[col]
            h.update(s.dtype.kind.encode() if hasattr(s.dtype, "kind") else b"O")
            # index=False: a reordered index with the same rows is the same data set
            h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
        return
    if hasattr(obj, "toarray") and hasattr(obj, "nnz"):  # scipy.sparse
        obj = obj.toarray()
    arr = np.asarray(obj)
    h.update(b"<array>")
    h.update(repr(arr.shape).encode())
    if arr.dtype.kind in "biufc":
        h.update(arr.dtype.kind.encode())
        h.update(np.ascontiguousarray(arr.astype(np.float64 if arr.dtype.kind in "iuf" else arr.dtype)).tobytes())
    else:
        h.update(repr(arr.ravel().tolist()).encode())


def shape_of(obj: Any) -> tuple[int, ...]:
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return tuple(int(s) for s in shape)
    try:
        import numpy as np

        return tuple(int(s) for s in np.shape(obj))
    except Exception:  # noqa: BLE001
        return (len(obj),)


# --------------------------------------------------------------------------- model introspection


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    if steps:
        last = steps[-1][1]
        return _final_estimator(last) if last not in (None, "passthrough") else model
    return model


def qualified_name(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def algorithm_type(model: Any) -> str:
    """Class name of the estimator doing the predicting (the last step of a pipeline)."""
    return type(_final_estimator(model)).__name__


def _is_classifier(model: Any) -> bool | None:
    try:
        from sklearn.base import is_classifier, is_regressor

        if is_classifier(model):
            return True
        if is_regressor(model):
            return False
    except Exception:  # noqa: BLE001 - not a scikit-learn object
        pass
    kind = getattr(model, "_estimator_type", None)
    if kind == "classifier":
        return True
    if kind == "regressor":
        return False
    if hasattr(model, "classes_") or hasattr(model, "predict_proba"):
        return True
    return None


def infer_problem_type(model: Any, y: Any = None) -> str | None:
    """``BinaryClassification``, ``MulticlassClassification`` or ``Regression`` (SageMaker's names)."""
    import numpy as np

    clf = _is_classifier(model)
    classes = getattr(model, "classes_", None)
    if clf is None and y is not None:
        arr = np.asarray(y).ravel()
        if arr.dtype.kind == "f" and len(np.unique(arr)) > max(20, len(arr) // 10):
            clf = False
        elif arr.dtype.kind in "biuOUS" or arr.dtype.kind == "f":
            clf = True
    if clf is None:
        return None
    if not clf:
        return _m.REGRESSION
    if classes is not None:
        n = len(classes)
    elif y is not None:
        n = len(np.unique(np.asarray(y).ravel()))
    else:
        return None
    return _m.BINARY if n <= 2 else _m.MULTICLASS


def _param_str(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        text = str(value) if not isinstance(value, str) else value
    elif hasattr(value, "item") and getattr(value, "shape", None) == ():
        text = str(value.item())
    elif hasattr(value, "get_params"):
        text = type(value).__name__
    elif callable(value):
        text = getattr(value, "__qualname__", None) or type(value).__name__
    else:
        text = repr(value)
    if text == "":
        text = "''"
    return _m.short(" ".join(text.split()) or repr(text), 255)


def _steps_of(name: str, value: Any) -> list[tuple[str, Any]] | None:
    """Named sub-estimators held by a composite parameter (Pipeline.steps, ColumnTransformer.transformers)."""
    if name in ("steps", "transformers", "transformer_list", "estimators") and isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if isinstance(item, (list, tuple)) and len(item) >= 2 and isinstance(item[0], str):
                out.append((item[0], item[1]))
        return out
    return None


def hyper_parameters(model: Any) -> list[dict[str, str]]:
    """``[{name, value}]`` from ``get_params``; composites step by step as ``step__param``."""
    out: list[tuple[str, str]] = []

    def walk(est: Any, prefix: str) -> None:
        try:
            params = est.get_params(deep=False)
        except Exception:  # noqa: BLE001 - not a scikit-learn style estimator
            return
        for key in sorted(params):
            value = params[key]
            steps = _steps_of(key, value)
            if steps is not None:
                for step_name, sub in steps:
                    out.append((prefix + step_name, _param_str(sub)))
                    if hasattr(sub, "get_params"):
                        walk(sub, prefix + step_name + "__")
                continue
            out.append((prefix + key, _param_str(value)))
            if hasattr(value, "get_params") and not isinstance(value, type):
                walk(value, prefix + key + "__")

    walk(model, "")
    seen, result = set(), []
    for name, value in out:
        name = _m.short(name, 255)
        if name not in seen:
            seen.add(name)
            result.append({"name": name, "value": value})
    return result


def feature_names(model: Any, X: Any = None) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    cols = getattr(X, "columns", None)
    if cols is not None:
        return [str(c) for c in cols]
    n = getattr(model, "n_features_in_", None)
    if n is None and X is not None:
        shape = shape_of(X)
        n = shape[1] if len(shape) > 1 else 1
    return [f"x{i}" for i in range(int(n))] if n else []


def _modules_of(model: Any) -> set[str]:
    mods = {type(model).__module__.split(".")[0]}
    for step in (getattr(model, "steps", None) or []):
        if step[1] not in (None, "passthrough"):
            mods |= _modules_of(step[1])
    try:
        for value in model.get_params(deep=True).values():
            if hasattr(value, "get_params") and not isinstance(value, type):
                mods.add(type(value).__module__.split(".")[0])
    except Exception:  # noqa: BLE001
        pass
    return mods


def library_versions(model: Any = None, extra: Iterable[str] = ()) -> dict[str, str]:
    """Distribution name -> version for numpy, pandas, scikit-learn and the model's own libraries."""
    wanted = set(_ALWAYS_REPORTED) | set(extra)
    if model is not None:
        try:
            dists = _md.packages_distributions()
        except Exception:  # noqa: BLE001
            dists = {}
        for mod in _modules_of(model):
            if mod in ("builtins", "__main__"):
                continue
            wanted.update(dists.get(mod, [mod]))
    out = {}
    for dist in sorted(wanted, key=str.lower):
        try:
            out[dist] = _md.version(dist)
        except _md.PackageNotFoundError:
            continue
    return out


def git_commit(path: str | os.PathLike | None = None) -> tuple[str | None, bool | None]:
    """(commit sha, dirty) of the git work tree containing ``path`` (default: cwd), or (None, None)."""
    where = os.fspath(path) if path else os.getcwd()
    if os.path.isfile(where):
        where = os.path.dirname(where) or "."
    if not os.path.isdir(where):
        return None, None
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
        if sha.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where, capture_output=True, text=True, timeout=5,
        )
        return sha.stdout.strip(), (bool(status.stdout.strip()) if status.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def _join_limited(items: Sequence[str], limit: int = 1024) -> str:
    out = ""
    for i, item in enumerate(items):
        piece = (", " if out else "") + item
        rest = len(items) - i
        if len(out) + len(piece) + len(f", … (+{rest} more)") > limit:
            return out + f", … (+{rest} more)"
        out += piece
    return out


def _dataset_lists(datasets: Any) -> tuple[list[str], list[str]]:
    if datasets is None:
        return [], []
    if isinstance(datasets, str):
        return [datasets], []
    if isinstance(datasets, Mapping):
        unknown = set(datasets) - {"training", "evaluation"}
        if unknown:
            raise Invalid(f"datasets: unknown key {sorted(unknown)[0]!r}; use 'training' and 'evaluation'")
        tr, ev = datasets.get("training") or [], datasets.get("evaluation") or []
        tr = [tr] if isinstance(tr, str) else list(tr)
        ev = [ev] if isinstance(ev, str) else list(ev)
        return [str(d) for d in tr], [str(d) for d in ev]
    return [str(d) for d in datasets], []


def _xy(pair: Any, what: str) -> tuple[Any, Any]:
    if pair is None:
        return None, None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise Invalid(f"{what} must be a pair (X, y)")
    X, y = pair
    nx, ny = shape_of(X)[0], shape_of(y)[0]
    if nx != ny:
        raise Invalid(f"{what}: X has {nx} rows but y has {ny}")
    if nx == 0:
        raise Invalid(f"{what}: no rows")
    return X, y


def card_from_session(
    model: Any,
    name: str,
    train: tuple[Any, Any] | None = None,
    test: tuple[Any, Any] | None = None,
    datasets: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    notebook_path: str | None = None,
    author: str | None = None,
    *,
    model_id: str | None = None,
    now: _dt.datetime | None = None,
) -> dict:
    """Model card content filled from a fitted model and session data.

    ``name``: the card (and model) name, SageMaker's card name pattern. ``datasets``: catalog
    dataset names, either ``{"training": [...], "evaluation": [...]}`` or a list (training).
    Anything with no SageMaker field goes to ``additional_information.custom_details``.
    Raises ``Invalid`` for bad input (mismatched X/y, unpredictable test data, ...).
    """
    validate_card_name(name)
    if model is None:
        raise Invalid("model is None")
    X_tr, y_tr = _xy(train, "train")
    X_te, y_te = _xy(test, "test")
    train_ds, eval_ds = _dataset_lists(datasets)
    if len(train_ds) > 15:
        raise Invalid(f"at most 15 training datasets, got {len(train_ds)}")
    if len(eval_ds) > 10:
        raise Invalid(f"at most 10 evaluation datasets, got {len(eval_ds)}")
    now = (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)

    problem = infer_problem_type(model, y_tr if y_tr is not None else y_te)
    overview: dict[str, Any] = {"model_name": name, "algorithm_type": _m.short(algorithm_type(model), 1024)}
    if problem:
        overview["problem_type"] = problem
    if model_id:
        overview["model_id"] = _m.short(model_id, 1024)
    if author:
        overview["model_creator"] = _m.short(author, 1024)

    custom: dict[str, str] = {"model_class": _m.short(qualified_name(model), 1024)}
    steps = getattr(model, "steps", None)
    if steps:
        custom["pipeline_steps"] = _join_limited(
            [f"{n}: {type(s).__name__ if s not in (None, 'passthrough') else 'passthrough'}" for n, s in steps]
        )
    features = feature_names(model, X_tr if X_tr is not None else X_te)
    if features:
        custom["n_features"] = str(len(features))
        custom["features"] = _join_limited(features)

    job: dict[str, Any] = {}
    hp = hyper_parameters(model)
    if len(hp) > MAX_HYPER_PARAMETERS:
        custom["hyper_parameters_truncated"] = f"{len(hp) - MAX_HYPER_PARAMETERS} more not recorded (limit 100)"
        hp = hp[:MAX_HYPER_PARAMETERS]
    if hp:
        job["hyper_parameters"] = hp
    if train_ds:
        job["training_datasets"] = [_m.short(d, 1024) for d in train_ds]
    if X_tr is not None:
        custom["training_data_shape"] = " x ".join(str(s) for s in shape_of(X_tr))
        custom["training_data_hash"] = data_hash(X_tr, y_tr)
        if problem:
            score = _m.training_score(model, X_tr, y_tr, problem)
            if score:
                score.pop("type")
                job["training_metrics"] = [score]

    content: dict[str, Any] = {"model_overview": overview}
    if job:
        content["training_details"] = {"training_job_details": job}

    if X_te is not None:
        if problem is None:
            problem = infer_problem_type(model, y_te)
        if problem is None:
            raise Invalid(f"cannot tell whether {type(model).__name__} is a classifier or a regressor")
        groups, meta = _m.evaluation_groups(model, X_te, y_te, problem)
        imp = _m.importance_group(model, features)
        if imp:
            groups.append(imp)
        meta["data_shape"] = " x ".join(str(s) for s in shape_of(X_te))
        meta["data_hash"] = data_hash(X_te, y_te)
        evaluation: dict[str, Any] = {
            "name": "Test data evaluation",
            "evaluation_observation": (
                f"Computed by mlgov-jupyter with scikit-learn on {meta['rows']} held-out rows "
                f"at {now.strftime('%Y-%m-%dT%H:%M:%SZ')}."
            ),
            "metadata": meta,
            "metric_groups": groups,
        }
        if eval_ds:
            evaluation["datasets"] = [_m.short(d, 1024) for d in eval_ds]
        content["evaluation_details"] = [evaluation]
        if problem != overview.get("problem_type"):
            overview["problem_type"] = problem
    elif eval_ds:
        content["evaluation_details"] = [{"name": "Evaluation datasets", "datasets": eval_ds}]

    custom["python_version"] = platform.python_version()
    libs = library_versions(model)
    custom["libraries"] = _join_limited([f"{k}=={v}" for k, v in libs.items()])
    custom["platform"] = _m.short(f"{platform.system()} {platform.machine()}", 1024)
    if notebook_path:
        custom["notebook_path"] = _m.short(os.fspath(notebook_path), 1024)
    sha, dirty = git_commit(notebook_path)
    if sha:
        custom["git_commit"] = sha
        if dirty is not None:
            custom["git_dirty"] = "true" if dirty else "false"
    if author:
        custom["author"] = _m.short(author, 1024)
    custom["created_at"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    custom["created_with"] = "mlgov-jupyter card_from_session"
    content["additional_information"] = {"custom_details": custom}

    validate(content)
    return content


_CARRIED = {
    "intended_uses": ("purpose_of_model", "intended_uses", "factors_affecting_model_efficiency",
                      "risk_rating", "explanations_for_risk_rating"),
    "business_details": ("business_problem", "business_stakeholders", "line_of_business"),
    "additional_information": ("ethical_considerations", "caveats_and_recommendations"),
}


def carry_over(new: Mapping, previous: Mapping | None) -> dict:
    """Fields a person wrote on ``previous`` (intended uses, business details, ethics, caveats)
    copied into ``new`` where ``new`` leaves them empty, as SageMaker does within a model group."""
    import copy

    out = copy.deepcopy(dict(new))
    if not previous:
        return out
    for section, fields in _CARRIED.items():
        old = previous.get(section) or {}
        for field in fields:
            if field in old and not (out.get(section) or {}).get(field):
                out.setdefault(section, {})[field] = copy.deepcopy(old[field])
    return out


__all__ = [
    "card_from_session",
    "carry_over",
    "data_hash",
    "hyper_parameters",
    "infer_problem_type",
    "algorithm_type",
    "feature_names",
    "library_versions",
    "git_commit",
]

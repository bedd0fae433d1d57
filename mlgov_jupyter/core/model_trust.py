"""Which skops models may be published and loaded: one reviewed definition, shared by the service
(refuses a model at publish) and the client (checks it again before loading).

Types. A reader's ``use()`` loads, unnamed, only skops' own defaults (scikit-learn's estimators,
numpy's ufuncs), as skops itself does: any other type can be built by the file with
publisher-chosen arguments and state (skops picks the loader from the file), which for a tree or
KD-tree index, a distance metric or even a ``numpy.dtype`` means memory read or written out of
bounds in the reader's process. The reader names those types (``use(name, trusted=[...])``) when
they trust the publisher. Nothing is trusted by module prefix and nothing is imported to decide: a
name such as numpy.distutils.fcompiler.gnu.Popen is subprocess.Popen re-exported, and importing a
module chosen by a publisher (numpy.f2py.__main__) runs it.

Content. A type skops trusts is no proof that what the file builds under it is safe: skops decides
trust from the class name a node declares, while some loaders build what the stored bytes say.
A sparse matrix declared as ``scipy.sparse._matrix.spmatrix`` (trusted) was built as whatever
format its ``.npz`` named, with indices nobody checked, and wrote out of bounds on ``predict``;
a ``RandomState`` (trusted) whose stored position lies outside its key reads out of bounds on the
first draw. So every node that carries raw data is checked against what it will build, before
anything is built, whatever types the reader trusts: a sparse matrix must be of the class it
declares and pass scipy's full format check (indices in range, index pointers monotone); an array
must be a plain ``.npy`` (no object dtype) exactly the size its header declares; a random state or
generator must have numpy's form with its positions in range; a ``numpy.dtype`` must come from an
empty array; and sparse matrices, random states, arrays, dtypes, trees and every publishable type
may be built only by their own loader (an ``ObjectNode`` declaring ``csc_matrix`` would set its
index arrays unchecked; a ``LossNode`` declaring ``numpy.dtype``, which the reader of any
SimpleImputer names, would call ``np.dtype("V8").__setstate__`` with a field at offset 1e9).
``LossNode`` builds only the losses skops allows it; ``ConstructorFromReduceNode`` no publishable type.

Even so, content checks per node cannot know every estimator's invariants (a ``OneHotEncoder``
whose ``_n_features_outs`` disagrees with its categories writes out of bounds on ``transform``),
so the client runs a catalog model it did not publish in an isolated process
(kernel/isolated_model.py); these checks keep the service and that process sound.

Size. A skops file is a zip read by a tree of nodes, each reading ("decompressing") the member it
names; a small file whose schema names one highly compressed member many times made the checker
and every reader inflate hundreds of MB. The zip directory and the schema are measured before
skops sees the bytes: members, their sizes and compression ratios, duplicate names, readers per
member, what all the reads add up to (and what a ``bytearray`` node builds from them: 9 times
what it reads), the number of nodes and the schema's depth (``Limits``).
Types are then audited on a copy of the zip whose members are replaced by their names, so the
audit itself decompresses nothing.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Union

from .errors import TooLarge

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


@dataclass(frozen=True)
class Limits:
    """What a skops file may make its checker and its readers do. A 300-tree random forest (8 MB)
    reads 8 MB in 1,500 members and 17,000 nodes, 13 levels deep; skops stores members
    uncompressed. Beyond a limit: TooLarge (413), before anything is decompressed."""

    max_bytes: int = 512 << 20  # everything read: each member once per node that reads it (and
    # at most max_ratio times the file's size, or 16 x ratio_floor for small files)
    max_member_bytes: int = 256 << 20  # one member, uncompressed
    max_ratio: int = 100  # a member's uncompressed / compressed size (members above ratio_floor)
    ratio_floor: int = 1 << 20
    max_members: int = 100_000
    max_readers: int = 8  # nodes that read the same member
    max_nodes: int = 100_000  # skops' audit tree costs about 2 KB a node (a 20-byte JSON node)
    max_objects: int = 20_000  # nodes that build objects (each holds skops' trusted list, 2 KB)
    max_depth: int = 200  # nesting of the schema's JSON
    max_schema_bytes: int = 64 << 20


LIMITS = Limits()


Source = Union[bytes, str, "os.PathLike[str]"]


def untrusted_types(data: Source, trusted: list[str] | None = None, limits: Limits = LIMITS) -> list[str]:
    """The types in a skops file (bytes, or a path: read member by member, never whole) beyond
    skops' defaults and ``trusted`` (exact names), read from its schema without loading it or
    importing anything. ValueError if no skops file, or if a node's content is not what it
    declares (module docstring); TooLarge beyond ``limits``. Both before any decompression that
    the file could inflate."""
    allowed = set(trusted or [])
    return [t for t in audit(data, limits) if t not in allowed]


def unpublishable_types(data: Source, limits: Limits = LIMITS) -> list[str]:
    """What a skops model may not hold at all: types beyond skops' defaults and the reviewed
    publishable list. ValueError / TooLarge as ``untrusted_types``."""
    return untrusted_types(data, trusted=sorted(PUBLISHABLE_TYPES), limits=limits)


def audit(data: Source, limits: Limits = LIMITS) -> list[str]:
    """Check a skops file's size and content without building anything from it; return every
    type it holds that skops does not trust by default, sorted (what skops.io's
    get_untrusted_types says of the same file)."""
    try:
        if isinstance(data, (bytes, bytearray, memoryview)):
            return _audit(io.BytesIO(data), len(data), limits)
        with open(data, "rb") as fp:
            return _audit(fp, os.fstat(fp.fileno()).st_size, limits)
    except (TooLarge, ValueError):
        raise
    except RecursionError:
        raise ValueError("the skops schema is nested too deeply") from None
    except Exception as exc:  # whatever else a crafted file provokes: refused, never a 500
        raise ValueError(f"the skops file cannot be checked ({type(exc).__name__})") from None


def _audit(fp, size: int, limits: Limits) -> list[str]:
    outer = _Zip(fp, size, "the skops file", limits)
    schema_bytes = outer.read("schema.json", limits.max_schema_bytes, "schema.json")
    try:
        schema = json.loads(schema_bytes)
    except (ValueError, RecursionError):
        raise ValueError("the skops schema.json is not JSON") from None
    readers = _measure_schema(schema, outer, limits)
    del schema  # skops parses its own copy
    outer.charge_readers(readers)
    tree = _audit_tree(outer, schema_bytes)
    _Content(outer, readers, limits).check(tree)
    try:
        return sorted(tree.get_unsafe_set())
    except RecursionError:
        raise ValueError("the skops schema is nested too deeply") from None
    except Exception as exc:
        raise ValueError(f"not a skops file ({type(exc).__name__})") from None


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB"


class _Zip:
    """A zip's directory, measured before anything in it is decompressed."""

    def __init__(self, fp, size: int, what: str, limits: Limits, budget: list[int] | None = None):
        self.what, self.limits = what, limits
        # [bytes read so far, what may be read], shared with nested zips: at most max_bytes, and
        # at most max_ratio times the file (an uncompressed model reads about its own size)
        self.budget = budget if budget is not None else \
            [0, min(limits.max_bytes, max(16 * limits.ratio_floor, limits.max_ratio * size))]
        try:
            end = zipfile._EndRecData(fp)  # what ZipFile reads first: the entry count
        except Exception:
            end = None
        if end and end[zipfile._ECD_ENTRIES_TOTAL] > limits.max_members:
            raise TooLarge(f"{what} has {end[zipfile._ECD_ENTRIES_TOTAL]:,} members (limit "
                           f"{limits.max_members:,})")
        try:
            self.zip = zipfile.ZipFile(fp)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"{what} is not a readable zip ({type(exc).__name__})") from None
        if len(infos) > limits.max_members:
            raise TooLarge(f"{what} has {len(infos):,} members (limit {limits.max_members:,})")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if name in self.infos:
                raise ValueError(f"{what} holds member {name!r} twice")
            self.infos[name] = info
            if info.flag_bits & 0x1:
                raise ValueError(f"{what}: member {name!r} is encrypted")
            if info.file_size > limits.max_member_bytes:
                raise TooLarge(f"{what}: member {name!r} expands to {_mb(info.file_size)} (limit "
                               f"{_mb(limits.max_member_bytes)})")
            if info.file_size > limits.ratio_floor and \
                    info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise TooLarge(f"{what}: member {name!r} expands {info.file_size // max(info.compress_size, 1):,} "
                               f"times (limit {limits.max_ratio}); save it without compression")
            total += info.file_size
        self.charge(total)

    def charge(self, n: int) -> None:
        self.budget[0] += n
        if self.budget[0] > self.budget[1]:
            raise TooLarge(f"{self.what} expands to more than {_mb(self.budget[1])} as skops reads it (each "
                           f"member once per node that reads it; limit {self.limits.max_ratio} times the "
                           f"file, at most {_mb(self.limits.max_bytes)})")

    def charge_readers(self, readers: dict[str, int]) -> None:
        """Each member is read once per node that names it: charge the reads beyond the first."""
        for name, n in readers.items():
            if n > self.limits.max_readers:
                raise TooLarge(f"{self.what}: member {name!r} is read by {n:,} nodes (limit "
                               f"{self.limits.max_readers})")
        self.charge(sum(self.infos[name].file_size * (n - 1) for name, n in readers.items()))

    def read(self, name: str, limit: int, what: str) -> bytes:
        info = self.infos.get(name)
        if info is None:
            raise ValueError(f"{self.what} has no {what}")
        if info.file_size > limit:
            raise TooLarge(f"{self.what}: {what} expands to {_mb(info.file_size)} (limit {_mb(limit)})")
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"{self.what}: member {name!r} cannot be read ({type(exc).__name__})") from None

    def head(self, name: str, n: int) -> bytes:
        try:
            with self.zip.open(self.infos[name]) as f:
                return f.read(n)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"{self.what}: member {name!r} cannot be read ({type(exc).__name__})") from None


def _measure_schema(schema, outer: _Zip, limits: Limits) -> dict[str, int]:
    """Count nodes, depth and the members each node reads, walking every dict of the schema
    (wherever a loader may find it). Returns member -> number of nodes that read it."""
    readers: dict[str, int] = {}
    nodes = objects = 0
    stack = [(schema, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limits.max_depth:
            raise TooLarge(f"the skops schema is nested more than {limits.max_depth} levels deep")
        if isinstance(value, dict):
            if "__loader__" in value:
                nodes += 1
                if nodes > limits.max_nodes:
                    raise TooLarge(f"the skops schema has more than {limits.max_nodes:,} nodes")
                if isinstance(value["__loader__"], str) and value["__loader__"] in _OBJECT_LOADERS:
                    objects += 1
                    if objects > limits.max_objects:
                        raise TooLarge(f"the skops schema builds more than {limits.max_objects:,} objects")
                if "file" in value:
                    name = value["file"]
                    if not isinstance(name, str) or name not in outer.infos:
                        raise ValueError(f"a node of the skops schema names a missing member {name!r}")
                    readers[name] = readers.get(name, 0) + 1
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return readers


# loaders whose node keeps its own copy of skops' trusted list of estimators
_OBJECT_LOADERS = frozenset({"ObjectNode", "ReduceNode", "TreeNode", "LossNode", "MethodNode",
                             "ConstructorFromReduceNode", "PartialNode", "OperatorFuncNode"})


def _audit_tree(outer: _Zip, schema_bytes: bytes):
    """skops' own node tree of the file (what get_untrusted_types audits and loads construct),
    built over a copy of the zip whose members hold their own names: nothing is decompressed, and
    each data node's content tells which member it reads."""
    try:
        from skops.io._audit import get_tree
        from skops.io._utils import read_schema
    except ImportError:  # a skops whose internals moved: refuse rather than guess
        raise ValueError("this skops version cannot be checked; mlgov needs skops' audit tree") from None
    skeleton = io.BytesIO()
    with zipfile.ZipFile(skeleton, "w") as z:
        for name in outer.infos:
            z.writestr(name, schema_bytes if name == "schema.json" else name.encode("utf-8", "surrogatepass"))
    try:
        with zipfile.ZipFile(skeleton) as z:
            schema, context = read_schema(z)
            return get_tree(schema, load_context=context, trusted=None)
    except RecursionError:
        raise ValueError("the skops schema is nested too deeply") from None
    except Exception as exc:  # a broken schema, an unknown loader
        raise ValueError(f"not a skops file ({type(exc).__name__})") from None


# Declared types that only their own loader may build: any other loader would set their raw
# arrays or state unchecked. TypeNode and FunctionNode build the class itself, not an instance.
_OWN_LOADERS = (("scipy.sparse", {"SparseMatrixNode"}),
                ("numpy.random", {"RandomStateNode", "RandomGeneratorNode"}))
_CLASS_LOADERS = {"TypeNode", "FunctionNode"}
# The loader that builds each publishable type in an honest file (skops' own dispatch). A reader
# names a type for all loaders at once, so a type named for one loader must not be built by
# another: a LossNode declaring numpy.dtype calls np.dtype(...) and __setstate__ with the file's
# state (a field at offset 1e9), whereas DTypeNode reads a dtype from an empty array.
_HOME_LOADERS = {t: {"ObjectNode"} for t in PUBLISHABLE_TYPES}
_HOME_LOADERS.update({"numpy.dtype": {"DTypeNode"}, "sklearn.tree._tree.Tree": {"TreeNode"}})
# Loaders that build a fixed type whatever the node declares: they must declare that type, or
# the audit would report (and the reader trust) a name for something else.
_FIXED_TYPE_LOADERS = {"DTypeNode": {"numpy.dtype"}, "TreeNode": {"sklearn.tree._tree.Tree"}}
# Loaders that call the declared class with the file's arguments (and state) build only the
# classes skops allows them: LossNode scikit-learn's losses (refused otherwise, even if named);
# ConstructorFromReduceNode nothing by default (its type is reported untrusted, and no
# publishable type may be built by it: _HOME_LOADERS).
# numpy's bit generators, with the positions their state indexes memory by, (low, high)
_BIT_GENERATORS = {"MT19937": {("state", "pos"): (0, 624)}, "Philox": {("buffer_pos",): (0, 4)},
                   "PCG64": {}, "PCG64DXSM": {}, "SFC64": {}}
_SPARSE_ARRAYS = {"csr": {"data", "indices", "indptr", "shape"}, "csc": {"data", "indices", "indptr", "shape"},
                  "bsr": {"data", "indices", "indptr", "shape"}, "dia": {"data", "offsets", "shape"},
                  "coo": {"data", "shape"}}
_SPARSE_OPTIONAL = {"coo": {"row", "col", "coords"}}


def _kind(node) -> str:
    return type(node).__name__


def _declared(node) -> str:
    return f"{node.module_name}.{node.class_name}"


def _resolve(node):
    for _ in range(64):
        if _kind(node) != "CachedNode":
            return node
        node = node.cached
    raise ValueError("a cached node of the skops schema refers to itself")


class _Content:
    """Checks every node that carries raw data against what it will build."""

    def __init__(self, outer: _Zip, readers: dict[str, int], limits: Limits):
        self.outer, self.readers, self.limits = outer, readers, limits
        self.arrays: dict[str, tuple[tuple, object]] = {}  # member -> (shape, dtype) of its .npy
        self.sparse: set[str] = set()

    def check(self, tree) -> None:
        seen: set[int] = set()
        stack = [tree]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            self.node(node)
            if _kind(node) == "CachedNode":
                stack.append(node.cached)
            for child in getattr(node, "children", {}).values():
                group = child if isinstance(child, list) else \
                    list(child.values()) if isinstance(child, dict) else [child]
                stack.extend(c for c in group if hasattr(c, "children") and hasattr(c, "module_name"))

    def node(self, node) -> None:
        kind, declared = _kind(node), _declared(node)
        self.loader(node, kind, declared)
        if kind not in _CLASS_LOADERS:
            for prefix, loaders in _OWN_LOADERS:
                if (node.module_name == prefix or str(node.module_name).startswith(prefix + ".")) \
                        and kind not in loaders:
                    raise ValueError(f"a {kind} of the skops file builds {declared}, which only "
                                     f"skops' {' or '.join(sorted(loaders))} builds (with its content checked)")
            if declared == "numpy.ndarray" and kind != "NdArrayNode":
                raise ValueError(f"a {kind} of the skops file builds numpy.ndarray, which only "
                                 f"skops' NdArrayNode builds (with its content checked)")
        if kind == "NdArrayNode" and getattr(node, "type", None) == "numpy":
            self.array(self.member(node.buffer))
        elif kind == "SparseMatrixNode":
            self.sparse_matrix(self.member(node.content), declared)
        elif kind == "DTypeNode":
            content = _resolve(node.content)
            if _kind(content) != "NdArrayNode" or content.type != "numpy" \
                    or self.array(self.member(content.buffer))[0] != (0,):
                raise ValueError("a numpy.dtype of the skops file is not read from an empty array")
        elif kind == "BytearrayNode":
            # bytearray(list(bytes)): each byte read becomes an 8-byte list slot first
            self.outer.charge(_BYTEARRAY_FACTOR * self.outer.infos[self.member(node.content)].file_size)
        elif kind == "ObjectNode":
            self.declared_sizes(node)
        elif kind == "RandomStateNode":
            self.random_state(node)
        elif kind == "RandomGeneratorNode":
            self.generator(node)

    def loader(self, node, kind: str, declared: str) -> None:
        """A declared type may be built only by its own loader (``_HOME_LOADERS``), a loader that
        builds a fixed type must declare it, and LossNode / ConstructorFromReduceNode build only
        what skops allows them by default (the tree is built with trusted=None: node.trusted holds
        skops' defaults)."""
        fixed = _FIXED_TYPE_LOADERS.get(kind)
        if fixed is not None and declared not in fixed:
            raise ValueError(f"a {kind} of the skops file declares {declared} but builds "
                             f"{' or '.join(sorted(fixed))}")
        if kind in _CLASS_LOADERS:
            return
        home = _HOME_LOADERS.get(declared)
        if home is not None and kind not in home:
            raise ValueError(f"a {kind} of the skops file builds {declared}, which only skops' "
                             f"{' or '.join(sorted(home))} builds")
        if kind == "LossNode" and not node.is_self_safe():
            raise ValueError(f"a LossNode of the skops file builds {declared}, which is not one of "
                             f"scikit-learn's losses that skops allows it")

    def declared_sizes(self, node) -> None:
        """An estimator's declared number of outputs must match the arrays it answers from:
        a DummyRegressor's ``constant_`` is (1, n_outputs_), and a 3.5 KB one declaring 12.5
        million outputs over a (1, 1) constant predicts a 1 GB array for 10 rows."""
        attrs = _resolve(getattr(node, "attrs", None))
        content = getattr(attrs, "content", None) if _kind(attrs) == "DictNode" else None
        if not isinstance(content, dict):
            return
        outputs = _resolve(content.get("n_outputs_"))
        constant = _resolve(content.get("constant_"))
        if _kind(outputs) != "JsonNode" or _kind(constant) != "NdArrayNode" or \
                getattr(constant, "type", None) != "numpy":
            return
        try:
            n = json.loads(outputs.content)
        except (TypeError, ValueError):
            n = None
        shape = self.array(self.member(constant.buffer))[0]
        if type(n) is not int or not shape or shape[-1] != n:
            raise ValueError(f"a {_declared(node)} of the skops file declares n_outputs_={outputs.content} "
                             f"but its constant_ is {tuple(shape)}")

    def member(self, buffer) -> str:
        """The member a data node reads: in the audit copy, every member holds its own name."""
        try:
            name = buffer.getvalue().decode("utf-8", "surrogatepass")
        except (AttributeError, UnicodeDecodeError):
            raise ValueError("a data node of the skops file reads no member") from None
        if name not in self.outer.infos:
            raise ValueError(f"a data node of the skops file reads a missing member {name!r}")
        return name

    # arrays -------------------------------------------------------------------------------
    def array(self, name: str, zip_: _Zip | None = None):
        """A member must be a plain .npy (what numpy.load reads as an array, not a zip or a
        pickle) holding exactly the bytes its header declares; no object dtype."""
        zip_ = zip_ or self.outer
        if zip_ is self.outer and name in self.arrays:
            return self.arrays[name]
        import numpy as np
        from numpy.lib import format as npformat

        info = zip_.infos[name]
        head = io.BytesIO(zip_.head(name, _NPY_HEAD))  # numpy.load reads headers up to 10,000 bytes
        try:
            version = npformat.read_magic(head)
            if version == (1, 0):
                shape, _, dtype = npformat.read_array_header_1_0(head)
            elif version == (2, 0):
                shape, _, dtype = npformat.read_array_header_2_0(head)
            else:  # 3.0: utf-8 field names
                shape, _, dtype = _read_header_v3(head, version)
        except (ValueError, TypeError, SyntaxError, OverflowError, AttributeError) as exc:
            raise ValueError(f"{zip_.what}: member {name!r} is no .npy array ({str(exc)[:80]})") from None
        if dtype.hasobject:
            raise ValueError(f"{zip_.what}: member {name!r} holds Python objects")
        count = 1
        for n in shape:
            if n < 0:
                raise ValueError(f"{zip_.what}: member {name!r} declares a negative dimension")
            count *= n
        if count > self.limits.max_member_bytes:
            raise TooLarge(f"{zip_.what}: member {name!r} declares {count:,} elements")
        if head.tell() + count * dtype.itemsize != info.file_size:
            raise ValueError(f"{zip_.what}: member {name!r} does not hold the {shape} {dtype} array its "
                             f"header declares")
        out = (tuple(shape), np.dtype(dtype))
        if zip_ is self.outer:
            self.arrays[name] = out
        return out

    # sparse matrices -----------------------------------------------------------------------
    def sparse_matrix(self, name: str, declared: str) -> None:
        """The .npz must build the very class the node declares (skops trusts the declared name,
        scipy builds what the .npz says) and pass scipy's full format check."""
        if name in self.sparse:
            return
        import numpy as np
        import scipy.sparse as sp

        raw = self.outer.read(name, self.limits.max_member_bytes, f"member {name!r}")
        inner = _Zip(io.BytesIO(raw), len(raw), f"sparse matrix {name!r}", self.limits, self.outer.budget)
        if len(inner.infos) > 16:
            raise ValueError(f"sparse matrix {name!r} holds {len(inner.infos)} arrays")
        arrays = {}
        for member in inner.infos:
            if not member.endswith(".npy"):
                raise ValueError(f"sparse matrix {name!r} holds {member!r}, no .npy array")
            self.array(member, inner)
            arrays[member[:-4]] = member
        inner.charge(sum(i.file_size for i in inner.infos.values()) * (self.readers.get(name, 1) - 1))
        fmt_member = arrays.get("format")
        if fmt_member is None:
            raise ValueError(f"sparse matrix {name!r} names no format")
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            fmt = npz["format"]
        fmt = fmt.item() if fmt.shape == () else None
        if isinstance(fmt, bytes):
            fmt = fmt.decode("ascii", "replace")
        if fmt not in _SPARSE_ARRAYS:
            raise ValueError(f"sparse matrix {name!r} has an unknown format {fmt!r}")
        allowed = _SPARSE_ARRAYS[fmt] | _SPARSE_OPTIONAL.get(fmt, set()) | {"format", "_is_array"}
        if not _SPARSE_ARRAYS[fmt] <= set(arrays) or not set(arrays) <= allowed:
            raise ValueError(f"sparse matrix {name!r} ({fmt}) holds arrays {sorted(arrays)}")
        try:
            built = sp.load_npz(io.BytesIO(raw))  # what skops' SparseMatrixNode builds
        except Exception as exc:
            raise ValueError(f"sparse matrix {name!r} cannot be built ({type(exc).__name__}: "
                             f"{str(exc)[:80]})") from None
        actual = f"{type(built).__module__}.{type(built).__name__}"
        if actual != declared:
            raise ValueError(f"sparse matrix {name!r} is declared {declared} but holds a {actual}")
        try:
            if fmt in ("csr", "csc", "bsr"):
                built.check_format(full_check=True)
            elif fmt == "coo":
                coords = built.coords if hasattr(built, "coords") else (built.row, built.col)
                for axis, (idx, n) in enumerate(zip(coords, built.shape)):
                    if len(idx) and (idx.min() < 0 or idx.max() >= n):
                        raise ValueError(f"axis {axis} index out of range")
            if built.dtype.kind not in "biufc":
                raise ValueError(f"dtype {built.dtype}")
        except Exception as exc:
            raise ValueError(f"sparse matrix {name!r} is malformed ({str(exc)[:120]})") from None
        self.sparse.add(name)

    # random states -------------------------------------------------------------------------
    def random_state(self, node) -> None:
        state = _plain_dict(node.content, "RandomState")
        if _json(state.get("bit_generator"), "RandomState") != "MT19937":
            raise ValueError("a RandomState of the skops file is not an MT19937 state")
        self.bit_generator("MT19937", state, "RandomState")

    def generator(self, node) -> None:
        state = _plain_dict(node.bit_generator_state, "Generator")
        name = _json(state.get("bit_generator"), "Generator")
        if name not in _BIT_GENERATORS:
            raise ValueError(f"a Generator of the skops file uses bit generator {name!r}, which mlgov "
                             f"has not reviewed")
        self.bit_generator(name, state, "Generator")
        seed = getattr(node, "seed_seq_state", None)
        if seed is not None:
            pool = _json(_plain_dict(seed, "SeedSequence").get("pool_size"), "SeedSequence")
            if type(pool) is not int or not 4 <= pool <= 1024:
                raise ValueError(f"a SeedSequence of the skops file has pool_size {pool!r} (4 to 1024)")

    def bit_generator(self, name: str, state: dict, what: str) -> None:
        for path, (low, high) in _BIT_GENERATORS[name].items():
            value = state
            for i, key in enumerate(path):
                value = _plain_dict(value, what) if i else value
                value = value.get(key)
            number = _json(value, what)
            if type(number) is not int or not low <= number <= high:
                raise ValueError(f"a {what} of the skops file has {name} {'.'.join(path)} {number!r} "
                                 f"outside {low}..{high}")


_NPY_HEAD = 16 + 10_000 + 64
_BYTEARRAY_FACTOR = 8  # what skops' BytearrayNode builds beyond the bytes it reads, per byte


def _read_header_v3(fp, version):
    try:
        from numpy.lib._format_impl import _read_array_header
    except ImportError:
        from numpy.lib.format import _read_array_header
    return _read_array_header(fp, version)


def _plain_dict(node, what: str) -> dict:
    """A DictNode of str keys as skops will construct it: key -> value node."""
    node = _resolve(node) if node is not None else None
    if node is None or _kind(node) != "DictNode" or _declared(node) != "builtins.dict":
        raise ValueError(f"a {what} of the skops file does not hold numpy's state dict")
    key_types = _resolve(node.key_types)
    if _kind(key_types) != "ListNode" or len(key_types.content) != len(node.content) or not all(
            _kind(k) == "TypeNode" and _declared(k) == "builtins.str" for k in map(_resolve, key_types.content)):
        raise ValueError(f"a {what} of the skops file does not hold numpy's state dict")
    return dict(node.content)


def _json(node, what: str):
    node = _resolve(node) if node is not None else None
    if node is None or _kind(node) != "JsonNode":
        raise ValueError(f"a {what} of the skops file does not hold numpy's state")
    try:
        return json.loads(node.content)
    except (ValueError, TypeError, RecursionError):
        raise ValueError(f"a {what} of the skops file does not hold numpy's state") from None

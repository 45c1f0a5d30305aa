"""What crosses between the grader and a student's kernel while the tests run, and in which form.

Introduced with the homework (``course/README.md``, "Tests the notebook cannot
reach"). The grader runs the test cells itself and calls the student's
functions in the kernel (:mod:`.judge`, :mod:`.agent`).

* **Requests** (grader to kernel) are pickles: the kernel may unpickle what
  the grader trusts. Tensors, generators and the kernel's own objects travel
  by reference (:func:`pack`), so the kernel can make gradient leaves and
  hand generator states back.
* **Answers** (kernel to grader) must never run the student's code in the
  grader, so they are JSON holding plain data only (:func:`encode`,
  :func:`decode`): None, booleans, numbers, strings, lists, tuples, dicts
  with string keys, ``torch.Size``, dtypes, tensors (dense, sparse COO or
  CSR) and numpy arrays and scalars with a dtype from an allow-list. Anything
  else stays in the kernel; the grader gets a handle to it.
"""

from __future__ import annotations

import base64
import io
import math
import pickle

import numpy as np
import torch

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
          "complex128")
MAX_ELEMENTS = 50_000_000  # per array in an answer
MAX_DEPTH = 40


# ----------------------------------------------------------------------------- requests (pickles)
class _Packer(pickle.Pickler):
    """Pickles a request; tensors, generators and kernel objects become references."""

    def __init__(self, file):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.tensors, self.generators, self._seen = [], [], {}

    def persistent_id(self, obj):
        if isinstance(obj, torch.Tensor):
            if id(obj) not in self._seen:
                self._seen[id(obj)] = len(self.tensors)
                self.tensors.append(obj)
            return ("t", self._seen[id(obj)])
        if isinstance(obj, torch.Generator):
            self.generators.append(obj)
            return ("g", len(self.generators) - 1)
        if getattr(type(obj), "__gnnrec_remote__", False):
            return ("h", obj.__gnnrec_handle__)
        return None


def pack(request: dict) -> tuple[str, list, list]:
    """``request`` as text for the kernel, plus the tensors and generators it refers to (in order)."""
    buffer = io.BytesIO()
    packer = _Packer(buffer)
    packer.dump(request)
    side = {"tensors": [t.detach() for t in packer.tensors], "grad": [t.requires_grad for t in packer.tensors],
            "generators": [g.get_state() for g in packer.generators]}
    blob = pickle.dumps((buffer.getvalue(), side), protocol=pickle.HIGHEST_PROTOCOL)
    return base64.b64encode(blob).decode("ascii"), packer.tensors, packer.generators


class _Unpacker(pickle.Unpickler):
    def __init__(self, data, side, resolve):
        super().__init__(io.BytesIO(data))
        self.side, self.resolve = side, resolve
        self.tensors = [_leaf(t, g) for t, g in zip(side["tensors"], side["grad"])]
        self.generators = [torch.Generator().set_state(s) for s in side["generators"]]

    def persistent_load(self, pid):
        kind, key = pid
        if kind == "t":
            return self.tensors[key]
        if kind == "g":
            return self.generators[key]
        return self.resolve(key)


def _leaf(t: torch.Tensor, grad: bool) -> torch.Tensor:
    t = t.clone()
    return t.requires_grad_(True) if grad and (t.is_floating_point() or t.is_complex()) else t


def unpack(text: str, resolve):
    """In the kernel: the request, and the tensors (gradient leaves where the grader's needed gradients),
    the originals, and the generators it refers to. ``resolve(key)`` turns a handle into the kernel's object."""
    data, side = pickle.loads(base64.b64decode(text))
    unpacker = _Unpacker(data, side, resolve)
    return unpacker.load(), unpacker.tensors, side["tensors"], unpacker.generators


# ----------------------------------------------------------------------------- answers (JSON)
def encode(value, keep, found: list | None = None, depth: int = 0):
    """``value`` as JSON-able plain data; ``keep(obj)`` stores anything else in the kernel and returns a handle.

    ``found`` collects every dense tensor sent, in the order :func:`decode` meets them.
    """
    if depth > MAX_DEPTH:
        raise ValueError("the value is nested too deeply to send")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value, keep, found)
    if isinstance(value, np.ndarray) and value.dtype.name in DTYPES:
        return {"ndarray": [value.dtype.name, list(value.shape), _b64(np.ascontiguousarray(value).tobytes())]}
    if isinstance(value, np.generic) and value.dtype.name in DTYPES:
        return {"npscalar": [value.dtype.name, encode(value.item(), keep)]}
    if type(value) is complex:
        return {"complex": [value.real, value.imag]}
    if isinstance(value, torch.dtype) and str(value).removeprefix("torch.") in DTYPES:
        return {"dtype": str(value).removeprefix("torch.")}
    if type(value) is torch.Size:
        return {"size": [int(v) for v in value]}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode(v, keep, found, depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"dict": {k: encode(v, keep, found, depth + 1) for k, v in value.items()}}
    return {"handle": keep(value), "type": type(value).__name__[:80], "callable": callable(value)}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode_tensor(t: torch.Tensor, keep, found=None):
    grad, original = bool(t.requires_grad), t
    t = t.detach()
    name = str(t.dtype).removeprefix("torch.")
    if name not in DTYPES or t.device.type != "cpu":
        return {"handle": keep(t), "type": "Tensor", "callable": False}
    if t.layout == torch.sparse_coo:
        return {"sparse_coo": [_encode_tensor(t._indices(), keep), _encode_tensor(t._values(), keep),
                               list(t.shape), bool(t.is_coalesced())], "grad": grad}
    if t.layout == torch.sparse_csr:
        return {"sparse_csr": [_encode_tensor(t.crow_indices(), keep), _encode_tensor(t.col_indices(), keep),
                               _encode_tensor(t.values(), keep), list(t.shape)], "grad": grad}
    if t.layout != torch.strided:
        return {"handle": keep(t), "type": "Tensor", "callable": False}
    data = t.resolve_conj().resolve_neg().contiguous().numpy().tobytes()
    if found is not None:
        found.append(original)
    return {"tensor": [name, list(t.shape), _b64(data)], "grad": grad}


def decode(obj, handle, found: list | None = None, depth: int = 0):
    """An answer's value, built from plain data only. ``handle(number, type, callable)`` makes a proxy;
    ``found`` collects ``(tensor, requires_grad in the kernel)`` for every dense tensor, in order."""
    if depth > MAX_DEPTH:
        raise ValueError("the answer is nested too deeply")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is not dict or len(obj) not in (1, 2, 3):
        raise ValueError(f"not a valid answer: {type(obj).__name__}")
    (kind, body), = [(k, v) for k, v in obj.items() if k not in ("grad", "type", "callable")]
    if kind == "float":
        return float(_choice(body, ("nan", "inf", "-inf")))
    if kind in ("list", "tuple"):
        items = [decode(v, handle, found, depth + 1) for v in _array(body)]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {str(k): decode(v, handle, found, depth + 1) for k, v in body.items()}
    if kind == "handle":
        return handle(int(body), str(obj.get("type", "object"))[:80], bool(obj.get("callable")))
    return _decode_data(kind, body, obj.get("grad", False) is True, handle, found, depth)


def _decode_data(kind, body, grad, handle, found, depth):
    if kind == "tensor":
        name, shape, data = _array(body, 3)
        t = _tensor(name, shape, data)
        if found is not None:
            found.append((t, grad))
        return t
    if kind == "sparse_coo":
        indices, values, shape, coalesced = _array(body, 4)
        return torch.sparse_coo_tensor(decode(indices, handle), decode(values, handle), _shape(shape),
                                       is_coalesced=bool(coalesced), check_invariants=True)
    if kind == "sparse_csr":
        crow, col, values, shape = _array(body, 4)
        return torch.sparse_csr_tensor(decode(crow, handle), decode(col, handle), decode(values, handle),
                                       _shape(shape), check_invariants=True)
    if kind == "ndarray":
        name, shape, data = _array(body, 3)
        return _tensor(name, shape, data).numpy().copy()
    if kind == "npscalar":
        name, value = _array(body, 2)
        return np.dtype(_choice(name, DTYPES)).type(decode(value, handle, None, depth + 1))
    if kind == "complex":
        re, im = _array(body, 2)
        return complex(float(re), float(im))
    if kind == "dtype":
        return getattr(torch, _choice(body, DTYPES))
    if kind == "size":
        return torch.Size(_shape(body))
    raise ValueError(f"not a valid answer: {kind!r}")


def _tensor(name, shape, data) -> torch.Tensor:
    dtype = getattr(torch, _choice(name, DTYPES))
    shape = _shape(shape)
    raw = base64.b64decode(str(data), validate=True)
    count = math.prod(shape)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if count > MAX_ELEMENTS or len(raw) != count * itemsize:
        raise ValueError(f"a tensor of shape {shape} and dtype {name} cannot hold {len(raw)} bytes")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    if dtype == torch.bool:
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(shape) != 0
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape)


def _shape(shape) -> list[int]:
    shape = _array(shape)
    if len(shape) > 16 or not all(type(s) is int and 0 <= s <= MAX_ELEMENTS for s in shape):
        raise ValueError(f"not a valid shape: {shape!r}"[:120])
    return shape


def _array(value, length: int | None = None) -> list:
    if type(value) is not list or (length is not None and len(value) != length):
        raise ValueError("not a valid answer")
    return value


def _choice(value, allowed):
    if value not in allowed:
        raise ValueError(f"not a valid answer: {str(value)[:40]!r}")
    return value

"""dlib's face recognition ResNet read from its own file and run as an ONNX graph.

dlib's prebuilt wheels run this network slowly on a CPU; onnxruntime runs the same weights
much faster. This module reads ``dlib_face_recognition_resnet_model_v1.dat`` (dlib's
serialisation: dlib/serialize.h), builds an equivalent ONNX graph, caches it and runs it.
The descriptors are dlib's own up to float rounding (tests/test_dlib_resnet.py).

The file stores the weights but not the wiring: which tag a skip or an add goes back to
is part of the C++ type in dlib's ``dnn_face_recognition_ex.cpp``. :data:`ARCHITECTURE`
spells that type out, and the reader checks the file against it layer by layer.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

if TYPE_CHECKING:
    import onnx

CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
# Bumped whenever build_onnx builds another graph, so that a cached graph from an earlier
# builder is made again (the cached file's name holds it beside the source's hash).
GRAPH_VERSION = 2
BATCH = 8  # chips per onnxruntime call: bigger were no faster (benchmarks/resnet_runtime.py)


def _stage(filters: int, blocks: int, down: bool) -> list[tuple[str, int]]:
    """dlib's ``alevel``: residual blocks (``ares``), the first halving the size when
    ``down`` (``ares_down``: a strided block added to the average-pooled input)."""
    layers: list[tuple[str, int]] = []
    for index in range(blocks):
        layers += [("tag", 1), ("con", filters), ("affine", 0), ("relu", 0)]
        layers += [("con", filters), ("affine", 0)]
        if down and index == 0:
            layers += [("tag", 2), ("skip", 1), ("avg_pool", 0), ("add_prev", 2)]
        else:
            layers += [("add_prev", 1)]
        layers.append(("relu", 0))
    return layers


# dlib's anet_type from input to output: (kind, tag number or, for con, filters).
ARCHITECTURE: tuple[tuple[str, int], ...] = tuple(
    [("con", 32), ("affine", 0), ("relu", 0), ("max_pool", 0)]
    + _stage(32, 3, down=False)
    + _stage(64, 4, down=True)
    + _stage(128, 3, down=True)
    + _stage(256, 3, down=True)
    + _stage(256, 1, down=True)
    + [("avg_pool", 0), ("fc", DESCRIPTOR_SIZE)]
)

# What each layer's record holds after its name, in dlib's order: t tensor, a tensor
# shape, i integer, f float. Only the versions this file was written with: a newer dlib
# writes others, which would need reading (and testing) first.
RECORDS = {
    "con_4": "tiiiiiiiaaffff",
    "affine_": "taai",
    "relu_": "",
    "max_pool_2": "iiiiii",
    "avg_pool_2": "iiiiii",
    "add_prev_": "",
    "fc_2": "iitaaiffff",
}
# The version of the wrapper around each layer: tags and skips, the input's own layer.
WRAPPER, TAG_WRAPPER, INPUT_WRAPPER = 2, 1, 3


class ResNetFileError(ValueError):
    """The file is not dlib's face recognition ResNet as this module knows it."""


@dataclass(frozen=True)
class Layer:
    """One layer: convolution weights are (out, in, rows, columns), fc weights (in, out);
    ``tag`` is the tag a tag, skip or add_prev layer names."""

    kind: str
    tag: int = 0
    params: dict[str, np.ndarray] = field(default_factory=dict)
    window: tuple[int, int] = (0, 0)  # rows, columns; (0, 0) pools the whole input
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class DlibResNet:
    """The network read from dlib's file: its input's means and its layers, input first."""

    means: tuple[float, float, float]  # red, green, blue
    layers: tuple[Layer, ...]


class _Reader:
    """dlib's serialised values, read one after another."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def take(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) != size:
            raise ResNetFileError("the file ends too early (truncated?)")
        return data

    def i(self) -> int:
        control = self.take(1)[0]  # byte count, and the sign in the top bit
        size = control & 0x0F
        if not 0 < size <= 8 or control & 0x70:
            raise ResNetFileError(f"bad integer control byte {control:#x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def f(self) -> float:
        mantissa, exponent = self.i(), self.i()
        if exponent >= 32000:  # dlib's codes for infinity, minus infinity and NaN
            return {32000: np.inf, 32001: -np.inf}.get(exponent, np.nan)
        return float(np.ldexp(float(mantissa), exponent))

    def b(self) -> bool:
        value = self.take(1)
        if value not in (b"0", b"1"):
            raise ResNetFileError(f"bad boolean {value!r}")
        return value == b"1"

    def text(self) -> str:
        size = self.i()
        if not 0 <= size <= 64:  # the longest name here is a few dozen letters
            raise ResNetFileError(f"a layer name of {size} bytes")
        return self.take(size).decode("latin-1")

    def a(self) -> tuple[int, ...]:
        if self.i() != 1:
            raise ResNetFileError("unknown tensor shape version")
        return tuple(self.i() for _ in range(4))

    def t(self) -> np.ndarray:
        if self.i() != 2:
            raise ResNetFileError("unknown tensor version")
        shape = [self.i() for _ in range(4)]
        if min(shape) < 0:
            raise ResNetFileError(f"a tensor of shape {shape}")
        count = math.prod(shape)
        return np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32)


def _read_layer(reader: _Reader, kind: str, size: int) -> Layer:
    """One layer's own record (what dlib's ``serialize`` of the layer class writes)."""
    name = reader.text()
    if name not in RECORDS or not name.startswith(kind):
        raise ResNetFileError(f"expected a {kind} layer, found {name!r}")
    values: list[Any] = [getattr(reader, letter)() for letter in RECORDS[name]]
    if kind == "con":
        params, filters, rows, columns, *geometry, shape = values[:9]
        if filters != size or shape[0] != filters or params.size != np.prod(shape) + filters:
            raise ResNetFileError(f"a convolution does not have {size} filters")
        weights, bias = params[:-filters].reshape(shape), params[-filters:]
        return Layer(
            kind,
            params={"weights": weights, "bias": bias},
            window=(rows, columns),
            stride=tuple(geometry[:2]),
            padding=tuple(geometry[2:]),
        )
    if kind == "affine":
        params, (_, channels, _, _) = values[0], values[1]
        if params.size != 2 * channels:
            raise ResNetFileError("an affine layer's parameters do not match its channels")
        return Layer(kind, params={"gamma": params[:channels], "beta": params[channels:]})
    if kind in ("max_pool", "avg_pool"):
        return Layer(kind, window=tuple(values[:2]), stride=tuple(values[2:4]),
                     padding=tuple(values[4:6]))  # fmt: skip
    if kind in ("relu", "add_prev"):
        return Layer(kind, tag=size)
    outputs, inputs, params, _, _, bias_mode = values[:6]
    # Bias mode 1 is dlib's fc_no_bias: the weights alone, stored (in, out).
    if outputs != size or bias_mode != 1 or params.size != inputs * outputs:
        raise ResNetFileError(f"the last layer is not {size} outputs without bias")
    return Layer(kind, params={"weights": params.reshape(inputs, outputs)})


def _read_network(reader: _Reader) -> DlibResNet:
    if reader.i() != 1 or not reader.text().startswith("loss_metric_"):
        raise ResNetFileError("it does not start with dlib's metric-learning loss")
    reader.f(), reader.f()  # margin and distance threshold: for training only
    # Each layer writes its version, then the layers under it, then its own record: the
    # versions come first, output to input, then the records, input to output.
    expected = [TAG_WRAPPER if kind in ("tag", "skip") else WRAPPER for kind, _ in ARCHITECTURE]
    expected[0] = INPUT_WRAPPER
    if [reader.i() for _ in ARCHITECTURE][::-1] != expected or (
        reader.text() != "input_rgb_image_sized"
    ):
        raise ResNetFileError(f"it does not hold the {len(ARCHITECTURE)} layers expected")
    means = (reader.f(), reader.f(), reader.f())
    if (reader.i(), reader.i()) != (CHIP_SIZE, CHIP_SIZE):
        raise ResNetFileError(f"its input is not a {CHIP_SIZE}x{CHIP_SIZE} chip")
    layers = []
    for index, (kind, size) in enumerate(ARCHITECTURE):
        if kind in ("tag", "skip"):
            layers.append(Layer(kind, tag=size))
            continue
        layers.append(_read_layer(reader, kind, size))
        # Training state, not needed: three flags, then empty gradient and output tensors
        # (and, around the input, the sample expansion factor).
        for letter in "bbbttt" + ("i" if index == 0 else ""):
            getattr(reader, letter)()
    if reader.stream.read(1):
        raise ResNetFileError("it goes on after the last layer")
    return DlibResNet(means=means, layers=tuple(layers))


def read_dlib_resnet(path: Path | str) -> DlibResNet:
    """The parameters of dlib's face recognition ResNet, read from its ``.dat`` file.

    :raise ResNetFileError: the file is truncated, damaged or holds another network.
    """
    with open(path, "rb") as stream:
        try:
            return _read_network(_Reader(stream))
        except ResNetFileError as error:
            message = f"{path} is not dlib's face recognition ResNet: {error}"
            raise ResNetFileError(message) from None


def _fold_affines(layers: Sequence[Layer]) -> list[Layer]:
    """The layers with each affine (a frozen batch norm) folded into the convolution before
    it: one convolution instead of a convolution, a multiply and an add."""
    folded: list[Layer] = []
    for layer in layers:
        if layer.kind == "affine":
            con = folded.pop() if folded and folded[-1].kind == "con" else None
            if con is None:
                raise ResNetFileError("an affine layer does not follow a convolution")
            gamma = layer.params["gamma"].astype(np.float64)
            weights = (con.params["weights"] * gamma[:, None, None, None]).astype(np.float32)
            bias = (con.params["bias"] * gamma + layer.params["beta"]).astype(np.float32)
            layer = Layer("con", params={"weights": weights, "bias": bias}, window=con.window,
                          stride=con.stride, padding=con.padding)  # fmt: skip
        folded.append(layer)
    return folded


def build_onnx(network: DlibResNet) -> onnx.ModelProto:
    """An ONNX graph computing what dlib computes: input ``chips`` uint8 (N, 150, 150, 3),
    RGB as ``dlib.get_face_chip`` returns them; output ``descriptors`` float32 (N, 128).

    The mean subtraction, scaling and channel reordering happen inside the graph, so a
    caller hands over chips as they come, and any number of them at once.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    constants: list[onnx.TensorProto] = []

    def constant(value: np.ndarray) -> str:
        constants.append(numpy_helper.from_array(value, f"const{len(constants)}"))
        return constants[-1].name

    def node(op: str, *inputs: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [f"{op.lower()}{len(nodes)}"], **attributes))
        return nodes[-1].output[0]

    def grown(value: str, shape: tuple[int, ...], target: tuple[int, ...]) -> str:
        # dlib's add_prev adds tensors of different sizes by filling the smaller one with
        # zeros after its last channel, row and column.
        if shape == target:
            return value
        ends = [0] + [goal - now for now, goal in zip(shape, target, strict=True)]
        return node("Pad", value, constant(np.array([0] * 4 + ends, dtype=np.int64)))

    current = node("Cast", "chips", to=TensorProto.FLOAT)
    # Channels first, then the means: one per channel plane is many times cheaper for
    # onnxruntime than one per pixel's three values, and the floats are the same.
    current = node("Transpose", current, perm=[0, 3, 1, 2])
    means = np.array(network.means, dtype=np.float32).reshape(1, 3, 1, 1)
    current = node("Sub", current, constant(means))
    # dlib divides by 256: multiplying by its inverse, a power of two, gives the same floats.
    current = node("Mul", current, constant(np.array(1 / 256, dtype=np.float32)))
    shape: tuple[int, ...] = (3, CHIP_SIZE, CHIP_SIZE)
    tags: dict[int, tuple[str, tuple[int, ...]]] = {}
    for layer in _fold_affines(network.layers):
        kind, params = layer.kind, layer.params
        if kind == "tag":
            tags[layer.tag] = (current, shape)
        elif kind == "skip":
            current, shape = tags[layer.tag]
        elif kind == "add_prev":
            other, other_shape = tags[layer.tag]
            target = tuple(max(sizes) for sizes in zip(shape, other_shape, strict=True))
            current = node("Add", grown(current, shape, target), grown(other, other_shape, target))
            shape = target
        elif kind == "relu":
            current = node("Relu", current)
        elif kind == "fc":
            current = node("MatMul", node("Flatten", current), constant(params["weights"]))
            shape = (params["weights"].shape[1],)
        elif layer.window == (0, 0):  # dlib's avg_pool_everything
            current, shape = node("GlobalAveragePool", current), (shape[0], 1, 1)
        else:
            pads, window, stride = list(layer.padding) * 2, layer.window, layer.stride
            op = {"con": "Conv", "max_pool": "MaxPool", "avg_pool": "AveragePool"}[kind]
            weights = [constant(params["weights"]), constant(params["bias"])] if params else []
            current = node(op, current, *weights, kernel_shape=window, strides=stride, pads=pads)
            # Sizes round down in dlib as in ONNX (no ceil_mode), 150, 72, 35, 17, 8, 4, 2;
            # followed here only to know where add_prev must pad.
            rows, columns = (
                (size + 2 * pad - span) // step + 1
                for size, span, step, pad in zip(
                    shape[1:], window, stride, layer.padding, strict=True
                )
            )
            shape = (params["weights"].shape[0] if params else shape[0], rows, columns)
    nodes[-1].output[0] = "descriptors"
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", shape[0]])],
        constants,
    )
    # Opset 17 and IR version 8: old enough for every onnxruntime the app accepts.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model


def converted_model(source: Path, cache_dir: Path) -> Path:
    """The ONNX file converted from dlib's ``source``, made once and then kept in
    ``cache_dir``. Its name holds a hash of the source, so another dlib file never reuses
    this graph, and :data:`GRAPH_VERSION`, so a graph an earlier builder made of the same
    file is made again (and the old one removed). It is written under a temporary name and
    renamed, so processes converting at the same time never read half a file. Nothing is
    downloaded.

    :raise ResNetFileError: ``source`` is not dlib's face recognition ResNet.
    """
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    target = Path(cache_dir) / f"dlib-resnet-{digest}-g{GRAPH_VERSION}.onnx"
    if target.is_file():
        return target
    # An earlier builder's graph of the same file: the same descriptors, slower; 22 MB.
    for stale in Path(cache_dir).glob(f"dlib-resnet-{digest}*.onnx"):
        if stale != target:  # another process may have just written the target
            stale.unlink(missing_ok=True)
    model = build_onnx(read_dlib_resnet(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(model.SerializeToString())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


class ResNetRunner:
    """Descriptors of aligned face chips from the converted graph, on one thread: the app
    shares its cores out between processes itself."""

    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def describe(self, chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The (N, 128) float32 descriptors of N chips, uint8 RGB 150x150 as
        ``dlib.get_face_chip`` returns them: a sequence of chips or an (N, 150, 150, 3)
        array; one (150, 150, 3) array is one chip.

        :raise ValueError: the chips are not of that size or type.
        """
        array = np.asarray(chips)
        if array.size == 0:
            return np.empty((0, DESCRIPTOR_SIZE), dtype=np.float32)
        array = array[None] if array.ndim == 3 else array
        if array.dtype != np.uint8 or array.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be uint8 {CHIP_SIZE}x{CHIP_SIZE}x3 RGB images")
        parts = [
            self.session.run(["descriptors"], {"chips": array[start : start + BATCH]})[0]
            for start in range(0, len(array), BATCH)
        ]
        return np.concatenate(parts)

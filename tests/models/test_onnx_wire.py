"""The hand-written ONNX wire reader (genrekit.models.onnx_wire): schema, parity with the onnx package, hostile bytes.

The reader exists so that loading a model never imports ``onnx`` (~1.6 s);
these tests hold it to what the ``onnx`` package reads from the same bytes.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from genrekit.errors import ModelFileError  # noqa: E402
from genrekit.models import bundle, onnx_wire  # noqa: E402
from genrekit.models.onnx_wire import GraphInfo, ModelInfo, NodeRef, TensorRef, WireFormatError, read_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "genrekit" / "data" / "models" / "default.genre"
V1 = Path(__file__).parent / "data" / "v1"


def _onnx_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {f"{path.name}:{n}": zf.read(n) for n in zf.namelist() if n.endswith(".onnx")}


def _real_models() -> dict[str, bytes]:
    found = _onnx_members(BUNDLED)
    for path in sorted(V1.glob("*.genre")):
        found.update(_onnx_members(path))
    return found


REAL = _real_models()
SMALL = REAL["v1-knn-default.genre:model.onnx"]


# ------------------------------------------------------------------ the reference reading, with the onnx package


def _ref_tensor(t: TensorProto) -> TensorRef:
    return TensorRef(t.name, t.data_location == TensorProto.EXTERNAL or len(t.external_data) > 0)


def _ref_graphs(graph, depth: int, out: list[GraphInfo]) -> None:
    tensors = [_ref_tensor(t) for t in graph.initializer]
    tensors += [_ref_tensor(a.t) for n in graph.node for a in n.attribute if a.HasField("t")]
    tensors += [_ref_tensor(t) for n in graph.node for a in n.attribute for t in a.tensors]
    sparse = []
    for n in graph.node:
        for a in n.attribute:
            if a.HasField("sparse_tensor"):
                sparse.append(a.sparse_tensor)
            sparse.extend(a.sparse_tensors)
    sparse += list(graph.sparse_initializer)
    for s in sparse:
        tensors += [_ref_tensor(s.values), _ref_tensor(s.indices)]
    out.append(GraphInfo(tuple(tensors), tuple(NodeRef(n.name, n.domain) for n in graph.node)))
    for n in graph.node:
        for a in n.attribute:
            if a.HasField("g"):
                _ref_graphs(a.g, depth + 1, out)
            for sub in a.graphs:
                _ref_graphs(sub, depth + 1, out)


def _ref_width(value_info) -> int | None:
    dims = value_info.type.tensor_type.shape.dim
    return int(dims[1].dim_value) if len(dims) == 2 and dims[1].HasField("dim_value") else None


def reference(data: bytes) -> ModelInfo:
    """What the loader read before onnx_wire, with the onnx package (plus the sparse and training_info tensors)."""
    proto = onnx.load_model_from_string(data)
    graphs: list[GraphInfo] = []
    _ref_graphs(proto.graph, 0, graphs)
    for info in proto.training_info:
        for field in ("initialization", "algorithm"):
            if info.HasField(field):
                _ref_graphs(getattr(info, field), 0, graphs)
    return ModelInfo(
        opset_domains=tuple(o.domain for o in proto.opset_import),
        n_functions=len(proto.functions),
        graphs=tuple(graphs),
        inputs=tuple((i.name, _ref_width(i)) for i in proto.graph.input),
        outputs=tuple((o.name, _ref_width(o)) for o in proto.graph.output),
        metadata=tuple((p.key, p.value) for p in proto.metadata_props),
    )


# ------------------------------------------------------------------ the schema


@pytest.mark.parametrize(("table", "message"), [
    (onnx_wire.MODEL, onnx.ModelProto), (onnx_wire.OPSET, onnx.OperatorSetIdProto),
    (onnx_wire.ENTRY, onnx.StringStringEntryProto), (onnx_wire.TRAINING, onnx.TrainingInfoProto),
    (onnx_wire.GRAPH, onnx.GraphProto), (onnx_wire.NODE, onnx.NodeProto), (onnx_wire.ATTRIBUTE, onnx.AttributeProto),
    (onnx_wire.TENSOR, onnx.TensorProto), (onnx_wire.SPARSE, onnx.SparseTensorProto),
    (onnx_wire.VALUE_INFO, onnx.ValueInfoProto), (onnx_wire.TYPE, onnx.TypeProto),
    (onnx_wire.TENSOR_TYPE, onnx.TypeProto.Tensor), (onnx_wire.SHAPE, onnx.TensorShapeProto),
    (onnx_wire.DIMENSION, onnx.TensorShapeProto.Dimension),
], ids=lambda x: getattr(getattr(x, "DESCRIPTOR", None), "name", ""))
def test_field_numbers_match_the_onnx_package(table, message):
    fields = message.DESCRIPTOR.fields_by_name
    for name, number in table.items():
        assert name in fields, f"{message.DESCRIPTOR.full_name} has no field {name!r}"
        assert fields[name].number == number, f"{message.DESCRIPTOR.full_name}.{name} is {fields[name].number}"


def test_wire_types_and_oneofs_match_the_onnx_package():
    from google.protobuf.descriptor import FieldDescriptor as F

    scalar = {("TensorProto", "data_location"): F.TYPE_ENUM, ("Dimension", "dim_value"): F.TYPE_INT64}
    strings = {("TensorProto", "name"), ("NodeProto", "name"), ("NodeProto", "domain"), ("ValueInfoProto", "name"),
               ("OperatorSetIdProto", "domain"), ("StringStringEntryProto", "key"),
               ("StringStringEntryProto", "value"), ("Dimension", "dim_param")}
    for message in (onnx.ModelProto, onnx.GraphProto, onnx.NodeProto, onnx.AttributeProto, onnx.TensorProto,
                    onnx.SparseTensorProto, onnx.ValueInfoProto, onnx.TypeProto, onnx.TypeProto.Tensor,
                    onnx.TensorShapeProto, onnx.TensorShapeProto.Dimension, onnx.OperatorSetIdProto,
                    onnx.StringStringEntryProto, onnx.TrainingInfoProto):
        for f in message.DESCRIPTOR.fields:
            key = (message.DESCRIPTOR.name, f.name)
            if key in scalar:
                assert f.type == scalar[key], key
            elif key in strings:
                assert f.type == F.TYPE_STRING, key
    for message, name in ((onnx.ModelProto, "graph"), (onnx.ModelProto, "functions"), (onnx.AttributeProto, "g"),
                          (onnx.AttributeProto, "t"), (onnx.TensorProto, "external_data"),
                          (onnx.GraphProto, "sparse_initializer")):
        assert message.DESCRIPTOR.fields_by_name[name].type == F.TYPE_MESSAGE, name
    # a later case of these oneofs clears the earlier one: the reader must know every case
    assert {f.number for f in onnx.TypeProto.DESCRIPTOR.oneofs_by_name["value"].fields} == set(onnx_wire.TYPE.values())
    dim = onnx.TensorShapeProto.Dimension.DESCRIPTOR.oneofs_by_name["value"]
    assert {f.name for f in dim.fields} == set(onnx_wire.DIMENSION)
    assert (TensorProto.DEFAULT, TensorProto.EXTERNAL) == (0, 1)
    # every TensorProto-typed field in the messages walked is one the reader looks at
    for message, table in ((onnx.GraphProto, onnx_wire.GRAPH), (onnx.AttributeProto, onnx_wire.ATTRIBUTE),
                           (onnx.SparseTensorProto, onnx_wire.SPARSE), (onnx.ModelProto, onnx_wire.MODEL),
                           (onnx.TrainingInfoProto, onnx_wire.TRAINING)):
        for f in message.DESCRIPTOR.fields:
            if f.message_type is not None and f.message_type.name in ("TensorProto", "SparseTensorProto",
                                                                      "GraphProto", "FunctionProto"):
                assert f.name in table, f"{message.DESCRIPTOR.name}.{f.name} holds tensors the reader skips"


# ------------------------------------------------------------------ parity


def _small_proto():
    return onnx.load_model_from_string(SMALL)


def _external(tensor) -> None:
    tensor.ClearField("raw_data")
    for name in ("float_data", "double_data", "int64_data", "int32_data"):
        del getattr(tensor, name)[:]
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "secret.bin"


def _const(name: str, external: bool = False):
    t = helper.make_tensor(name, TensorProto.FLOAT, [2], [1.0, 2.0])
    if external:
        _external(t)
    return helper.make_node("Constant", [], [name + "_out"], name=name + "_node", value=t)


def _nested_if(depth: int, *, leaf=None):
    """A model whose graph holds an If nested ``depth`` deep (``leaf``: the innermost then_branch's node)."""
    def body(level: int):
        if level == depth:
            node = leaf or _const("leaf")
            return helper.make_graph([node], f"g{level}", [], [helper.make_tensor_value_info(
                node.output[0], TensorProto.FLOAT, [2])])
        out = f"o{level}"
        node = helper.make_node("If", ["c"], [out], name=f"if{level}", then_branch=body(level + 1),
                                else_branch=body(depth))
        return helper.make_graph([node], f"g{level}", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, [2])])

    graph = body(0)
    graph.input.extend([helper.make_tensor_value_info("c", TensorProto.BOOL, [])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _edits() -> dict[str, bytes]:
    out: dict[str, bytes] = {}

    def edit(name, fn):
        proto = _small_proto()
        fn(proto)
        out[name] = proto.SerializeToString()

    edit("external initializer", lambda p: _external(p.graph.initializer[0]))
    edit("foreign opset domain", lambda p: p.opset_import.add(domain="evil.custom", version=1))
    edit("foreign node domain", lambda p: setattr(p.graph.node[0], "domain", "evil.custom"))
    edit("local function", lambda p: p.functions.add(name="f", domain="local"))
    edit("empty local function", lambda p: p.functions.add())
    edit("external attribute t", lambda p: p.graph.node.append(_const("c0", external=True)))

    def attr_tensors(p):
        node = helper.make_node("Foo", [], ["x"], name="foo", domain="ai.onnx.ml")
        t = helper.make_tensor("listed", TensorProto.FLOAT, [1], [1.0])
        _external(t)
        node.attribute.append(helper.make_attribute("ts", [t, helper.make_tensor("ok", TensorProto.FLOAT, [1], [0.0])]))
        p.graph.node.append(node)

    edit("external attribute tensors", attr_tensors)

    def sparse(p, external_part):
        values = helper.make_tensor("sv", TensorProto.FLOAT, [2], [1.0, 2.0])
        indices = helper.make_tensor("si", TensorProto.INT64, [2], [0, 3])
        _external(values if external_part == "values" else indices)
        p.graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [4]))

    edit("external sparse values", lambda p: sparse(p, "values"))
    edit("external sparse indices", lambda p: sparse(p, "indices"))

    def attr_sparse(p):
        values = helper.make_tensor("asv", TensorProto.FLOAT, [1], [1.0])
        _external(values)
        indices = helper.make_tensor("asi", TensorProto.INT64, [1], [0])
        p.graph.node.append(helper.make_node("Constant", [], ["sp"], name="sp",
                                             sparse_value=helper.make_sparse_tensor(values, indices, [3])))

    edit("external attribute sparse_tensor", attr_sparse)

    def width_shapes(p):
        p.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "n_features"  # the oneof's other case
        p.graph.output.extend([helper.make_tensor_value_info("three_d", TensorProto.FLOAT, [None, 3, 4]),
                               helper.make_tensor_value_info("seq", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("neg", TensorProto.FLOAT, [1, -5])])

    edit("symbolic, 3-D, unshaped and negative widths", width_shapes)
    edit("duplicate metadata keys", lambda p: p.metadata_props.add(key="genrekit.labels", value='["x"]'))

    nested = _nested_if(5, leaf=_const("deep", external=True))
    out["external tensor five subgraphs deep"] = nested.SerializeToString()
    nested = _nested_if(4, leaf=helper.make_node("Relu", ["c"], ["r"], name="deep_relu", domain="evil.custom"))
    out["foreign node domain in a subgraph"] = nested.SerializeToString()
    loop = _nested_if(1)
    loop.graph.node[0].attribute.append(helper.make_attribute("bodies", [_nested_if(2).graph, _nested_if(0).graph]))
    out["attribute graphs"] = loop.SerializeToString()

    train = _small_proto()
    info = train.training_info.add()
    info.algorithm.CopyFrom(_nested_if(1, leaf=_const("trained", external=True)).graph)
    out["external tensor in training_info"] = train.SerializeToString()

    # merge semantics: a singular message that occurs twice is one merged message
    extra = onnx.ModelProto()
    t = extra.graph.initializer.add(name="appended")
    _external(t)
    out["graph field occurring twice"] = SMALL + extra.SerializeToString()
    later = onnx.TensorProto()
    later.data_location = TensorProto.EXTERNAL
    holder = onnx.ModelProto()
    node = holder.graph.node.add(name="merged", op_type="Constant")
    attr = node.attribute.add(name="value", type=onnx.AttributeProto.TENSOR)
    attr.t.CopyFrom(helper.make_tensor("merged_t", TensorProto.FLOAT, [1], [1.0]))
    first = attr.SerializeToString()
    attr.Clear()
    attr.t.CopyFrom(later)
    second = attr.SerializeToString()
    node.ClearField("attribute")
    node_bytes = node.SerializeToString() + _ld(5, first + second)  # one attribute whose t occurs twice
    out["tensor field occurring twice"] = _ld(7, _ld(1, node_bytes)) + _ld(8, _ld(1, b""))
    # a TypeProto whose tensor_type is then replaced by another case of the oneof
    tensor_type = onnx.TypeProto()
    tensor_type.tensor_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, [None, 7]).tensor_type)
    seq = onnx.TypeProto()
    seq.sequence_type.elem_type.CopyFrom(helper.make_tensor_type_proto(TensorProto.FLOAT, [None, 9]))
    for label, type_bytes in (("tensor then sequence", tensor_type.SerializeToString() + seq.SerializeToString()),
                              ("sequence then tensor", seq.SerializeToString() + tensor_type.SerializeToString()),
                              ("tensor twice", tensor_type.SerializeToString() * 2)):
        value_info = _ld(1, b"features") + _ld(2, type_bytes)
        out[f"oneof: {label}"] = _ld(7, _ld(11, value_info))
    return out


def _ld(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    return varint(field << 3 | 2) + varint(len(payload)) + payload


EDITS = _edits()


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_models_read_as_the_onnx_package_reads_them(name):
    got = read_model(REAL[name])
    assert got == reference(REAL[name])
    assert got.inputs and got.outputs and got.opset_domains


@pytest.mark.parametrize("name", sorted(EDITS))
def test_hostile_edits_read_as_the_onnx_package_reads_them(name):
    assert read_model(EDITS[name]) == reference(EDITS[name])


def test_the_bundled_model_reads_as_expected():
    from genrekit.models.bundle import read_card
    from genrekit.predict import BUNDLED_MODEL

    card = read_card(BUNDLED_MODEL)
    info = read_model(REAL["default.genre:model.onnx"])
    assert dict(info.inputs)["features"] == len(card.columns) and dict(info.outputs)["probabilities"] == 10
    assert "genrekit.labels" in dict(info.metadata) and info.n_functions == 0
    assert not any(t.external for g in info.graphs for t in g.tensors)


# ------------------------------------------------------------------ the loader's refusals


@pytest.mark.parametrize(("name", "message"), [
    ("external initializer", "is stored as external data"),
    ("external attribute t", "tensor 'c0' is stored as external data"),
    ("external attribute tensors", "tensor 'listed' is stored as external data"),
    ("external sparse values", "tensor 'sv' is stored as external data"),
    ("external sparse indices", "tensor 'si' is stored as external data"),
    ("external attribute sparse_tensor", "tensor 'asv' is stored as external data"),
    ("external tensor five subgraphs deep", "tensor 'deep' is stored as external data"),
    ("external tensor in training_info", "tensor 'trained' is stored as external data"),
    ("graph field occurring twice", "tensor 'appended' is stored as external data"),
    ("tensor field occurring twice", "tensor 'merged_t' is stored as external data"),
    ("foreign opset domain", r"uses operator domain\(s\) 'evil.custom'"),
    ("foreign node domain", "uses operator domain 'evil.custom'"),
    ("foreign node domain in a subgraph", "node 'deep_relu' uses operator domain 'evil.custom'"),
    ("local function", "local functions"),
    ("empty local function", "local functions"),
])
def test_the_loader_refuses_each_hostile_edit(name, message):
    with pytest.raises(ModelFileError, match=message) as info:
        bundle._onnx_io(EDITS[name], "m.genre: model.onnx")
    assert str(info.value).startswith("m.genre: model.onnx: ") and "\n" not in str(info.value)


def _raw_nested(depth: int) -> bytes:
    """A model whose graph nests ``depth`` subgraphs (built as bytes: onnx's own parser stops near 33 levels)."""
    graph = _ld(1, _ld(3, b"leaf") + _ld(4, b"Relu"))
    for _ in range(depth):
        graph = _ld(1, _ld(3, b"if") + _ld(4, b"If") + _ld(5, _ld(1, b"then_branch") + _ld(6, graph)))
    return _ld(7, graph) + _ld(8, b"")


def test_subgraphs_nest_at_most_max_graph_depth():
    assert read_model(_raw_nested(3)) == reference(_raw_nested(3))
    assert len(read_model(_raw_nested(onnx_wire.MAX_GRAPH_DEPTH)).graphs) == onnx_wire.MAX_GRAPH_DEPTH + 1
    with pytest.raises(WireFormatError, match="nest more than"):
        read_model(_raw_nested(onnx_wire.MAX_GRAPH_DEPTH + 1))
    with pytest.raises(ModelFileError, match="not a valid ONNX model"):
        bundle._onnx_io(_raw_nested(1000), "m")


@pytest.mark.parametrize("data", [
    b"\x00" * 64,  # field number 0
    b"\xff\xfe not protobuf at all \x00\x01",  # wire type 7
    b"\x3a\x05\x0a\x03",  # graph claims 5 bytes, 2 remain
    b"\x3a",  # truncated length
    b"\x08" + b"\xff" * 11,  # an 11-byte varint
    b"\x0b\x0c",  # a group
    b"\x39\x00\x00",  # truncated fixed64
    b"\x3a\x02\x0a\x05",  # a node that overruns its graph
], ids=["field0", "wiretype7", "overlong", "no-length", "long-varint", "group", "fixed64", "nested-overrun"])
def test_malformed_bytes_raise_wire_format_error(data):
    with pytest.raises(WireFormatError):
        read_model(data)
    with pytest.raises(ModelFileError, match="not a valid ONNX model"):
        bundle._onnx_io(data, "m")


def test_stricter_than_protobuf_where_it_matters():
    """A data_location that is neither DEFAULT nor EXTERNAL is refused (protobuf would drop it as unknown)."""
    odd = _ld(7, _ld(5, _ld(8, b"w") + b"\x70\x05")) + _ld(8, b"")
    assert read_model(odd).graphs[0].tensors == (TensorRef("w", True),)
    assert read_model(_ld(8, _ld(1, b"\xff\xfe"))).opset_domains == ("\\xff\\xfe",)  # not UTF-8: printable, refused


def test_fuzzed_models_give_a_result_or_a_wire_format_error():
    rng = random.Random(11)
    seeds = [SMALL, REAL["v1-logreg-seed.genre:model.onnx"], REAL["v1-ensemble.genre:model.onnx"]]
    big = REAL["default.genre:model.onnx"]
    deadline = time.monotonic() + 8.0
    outcomes = {"ok": 0, "error": 0}
    for i in range(400):
        if time.monotonic() > deadline:
            break
        data = bytearray(big if i % 40 == 0 else seeds[i % len(seeds)])
        how = rng.randrange(4)
        if how == 0:
            data = data[:rng.randrange(len(data))]
        elif how == 1:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 2:
            at = rng.randrange(len(data))
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
        else:
            at = rng.randrange(len(data))
            data[at:at + rng.randint(1, 4)] = b"\xff" * rng.randint(1, 11)
        try:
            read_model(bytes(data))
            outcomes["ok"] += 1
        except WireFormatError:
            outcomes["error"] += 1
        try:
            bundle._onnx_io(bytes(data), "fuzz")
        except ModelFileError as error:
            assert "\n" not in str(error)
    assert sum(outcomes.values()) >= 100 and outcomes["ok"] and outcomes["error"]


# ------------------------------------------------------------------ the point of it all


def test_loading_and_predicting_never_imports_onnx():
    code = (
        "import sys, numpy as np\n"
        "from genrekit.predict import load_model\n"
        "m = load_model()\n"
        "t = np.arange(22050 * 6) / 22050\n"
        "r = m.predict_signal((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22050)\n"
        "assert r.genre in m.labels\n"
        "bad = sorted(n for n in sys.modules if n == 'onnx' or n.startswith('onnx.'))\n"
        "print('imported:', bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_hostile_number_of_items_is_refused(monkeypatch):
    many_nodes = _ld(7, _ld(1, b"") * 50) + _ld(8, b"")
    assert len(read_model(many_nodes).graphs[0].nodes) == 50
    monkeypatch.setattr(onnx_wire, "MAX_ITEMS", 40)
    with pytest.raises(WireFormatError, match="more than 40"):
        read_model(many_nodes)


def test_a_tree_ensemble_sized_attribute_is_skipped_quickly():
    """Unpacked repeated ints/floats/strings (how TreeEnsemble stores its nodes) cost no Python loop per value."""
    proto = _small_proto()
    node = helper.make_node("TreeEnsembleClassifier", ["x"], ["y"], name="trees", domain="ai.onnx.ml",
                            nodes_featureids=list(range(300_000)), nodes_values=[0.5] * 300_000,
                            nodes_modes=["BRANCH_LEQ"] * 100_000)
    proto.graph.node.append(node)
    data = proto.SerializeToString()
    start = time.perf_counter()
    got = read_model(data)
    elapsed = time.perf_counter() - start
    assert got == reference(data)
    assert elapsed < 2.0, f"{len(data) / 1e6:.1f} MB of tree attributes took {elapsed:.2f} s"

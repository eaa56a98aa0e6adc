"""A small, bounded reader of the ONNX protobuf wire format: what the model loader checks, nothing more.

Why hand-written: the loader must look inside every ONNX graph of a model
file *before* onnxruntime sees it, because onnxruntime reads tensors stored
as external data (files next to the model, resolved from the working
directory) when it creates a session. The ``onnx`` package can do that look,
but importing it costs about 1.6 s on a small machine (protobuf, ml_dtypes,
its helpers), more than the whole cold-start budget of ``genrekit predict``;
the graph itself parses in a few milliseconds. What the loader needs is a
few fields of a stable, versioned format (field numbers from
``onnx/onnx.proto3``, checked against the installed ``onnx`` package's
descriptors by tests/models/test_onnx_wire.py), so this module reads them
directly.

What it extracts (:func:`read_model`): the operator-set domains of the
model, how many ONNX local functions it holds, every graph (the main graph,
the subgraphs in If/Loop/Scan attributes at any depth, the graphs of
``training_info``) with each tensor that could be stored as external data
(initializers, sparse initializers' values and indices, node attribute
tensors ``t``/``tensors``/``sparse_tensor``/``sparse_tensors``) and each
node's operator domain, the main graph's inputs and outputs with their
second dimension, and ``metadata_props``.

Protobuf semantics are followed where they decide what onnxruntime would
see: a singular message field that occurs more than once is merged (so
every occurrence is read), a scalar field's last occurrence wins, a oneof
(``TypeProto.value``, ``Dimension.value``) keeps its last case, and a field
whose wire type does not match the schema is an unknown field and ignored.
Where a hostile file could make the two readings differ, this reader is the
stricter one: any ``data_location`` other than DEFAULT counts as external,
and groups (deprecated wire types 3/4) are refused.

Safe on hostile bytes: every length is checked against its enclosing
message, varints are at most 10 bytes, subgraphs nest at most
:data:`MAX_GRAPH_DEPTH` deep, a model holds at most :data:`MAX_ITEMS`
nodes, attributes, tensors and graphs, and each byte is scanned once per enclosing
message level read (linear time). Any malformation raises
:class:`WireFormatError`, never another exception. Messages the loader does
not need (doc strings, value types beyond the shape, ...) are skipped, not
validated: onnxruntime still parses the whole graph when the session is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

MAX_GRAPH_DEPTH = 32
"""Subgraphs (If/Loop/Scan bodies) may nest this deep; a deeper graph is refused."""
MAX_ITEMS = 250_000
"""At most this many graphs, nodes, attributes, tensors, value infos and metadata entries in one model
(real models hold thousands; a tree ensemble is one node): bounds the time and memory a hostile file costs."""
MAX_FIELD_NUMBER = (1 << 29) - 1
_MASK64 = (1 << 64) - 1

# Field numbers (onnx.proto3; tests check them against onnx's generated descriptors).
MODEL = {"graph": 7, "opset_import": 8, "metadata_props": 14, "training_info": 20, "functions": 25}
OPSET = {"domain": 1}
ENTRY = {"key": 1, "value": 2}
TRAINING = {"initialization": 1, "algorithm": 2}
GRAPH = {"node": 1, "initializer": 5, "input": 11, "output": 12, "sparse_initializer": 15}
NODE = {"name": 3, "attribute": 5, "domain": 7}
ATTRIBUTE = {"t": 5, "g": 6, "tensors": 10, "graphs": 11, "sparse_tensor": 22, "sparse_tensors": 23}
TENSOR = {"name": 8, "external_data": 13, "data_location": 14}
SPARSE = {"values": 1, "indices": 2}
VALUE_INFO = {"name": 1, "type": 2}
TYPE = {"tensor_type": 1, "sequence_type": 4, "opaque_type": 7, "sparse_tensor_type": 8, "map_type": 5,
        "optional_type": 9}
"""``TypeProto``'s oneof ``value``: every case, since a later case clears ``tensor_type``."""
TENSOR_TYPE = {"shape": 2}
SHAPE = {"dim": 1}
DIMENSION = {"dim_value": 1, "dim_param": 2}
(_W_MODEL, _W_OPSET, _W_ENTRY, _W_TRAINING, _W_GRAPH, _W_NODE, _W_ATTRIBUTE, _W_TENSOR, _W_SPARSE, _W_VALUE_INFO, _W_TYPE,
 _W_TENSOR_TYPE, _W_SHAPE, _W_DIMENSION) = (frozenset(t.values()) for t in (
    MODEL, OPSET, ENTRY, TRAINING, GRAPH, NODE, ATTRIBUTE, TENSOR, SPARSE, VALUE_INFO, TYPE, TENSOR_TYPE, SHAPE, DIMENSION))
"""The field numbers each message's reader looks at; the loop skips every other field."""

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_SKIPPABLE = (_VARINT, _FIXED64, _FIXED32)

Span = tuple[int, int]
Chunks = list[Span]
"""One message as the spans of its occurrences (a singular message field that recurs is merged)."""


class WireFormatError(ValueError):
    """The bytes are not a well-formed ONNX model (as far as the fields read here go)."""


@dataclass(frozen=True)
class TensorRef:
    name: str
    external: bool
    """``data_location`` other than DEFAULT, or any ``external_data`` entry."""


@dataclass(frozen=True)
class NodeRef:
    name: str
    domain: str


@dataclass(frozen=True)
class GraphInfo:
    tensors: tuple[TensorRef, ...]
    """In the order the loader reports them: initializers, attribute ``t``, attribute ``tensors``, sparse ones."""
    nodes: tuple[NodeRef, ...]


@dataclass(frozen=True)
class ModelInfo:
    opset_domains: tuple[str, ...]
    n_functions: int
    graphs: tuple[GraphInfo, ...]
    """The main graph first, then its subgraphs depth first, then the graphs of ``training_info``."""
    inputs: tuple[tuple[str, int | None], ...]
    outputs: tuple[tuple[str, int | None], ...]
    """The main graph's inputs/outputs: name and second dimension (None unless the shape is 2-D with a fixed one)."""
    metadata: tuple[tuple[str, str], ...]


# ------------------------------------------------------------------ wire primitives


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    if pos >= end:
        raise WireFormatError(f"truncated varint at byte {pos}")
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result, shift, pos = b & 0x7F, 7, pos + 1
    while True:
        if pos >= end:
            raise WireFormatError(f"truncated varint at byte {pos}")
        if shift > 63:
            raise WireFormatError(f"varint longer than 10 bytes at byte {pos}")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _MASK64, pos
        shift += 7


_RUNS: dict[int, re.Pattern[bytes]] = {}


def _run(tag: int) -> re.Pattern[bytes]:
    """A run of fields with the one-byte ``tag`` (a varint or fixed-width wire type), matched in C, not in a loop.

    Tree ensembles store their nodes as millions of unpacked ``AttributeProto.ints``/``floats`` fields; a
    field-by-field Python loop over them would cost seconds. The varint pattern stops before an over-long
    varint, which the field loop then refuses.
    """
    pattern = _RUNS.get(tag)
    if pattern is None:
        body = {_VARINT: rb"[\x80-\xff]{0,9}[\x00-\x7f]", _FIXED64: rb".{8}", _FIXED32: rb".{4}"}[tag & 7]
        pattern = _RUNS[tag] = re.compile(rb"(?:" + re.escape(bytes([tag])) + body + rb")+", re.DOTALL)
    return pattern


def _fields(data: bytes, chunks: Chunks, want: frozenset[int]) -> Iterator[tuple[int, int, int | Span]]:
    """``(field number, wire type, value)`` of a message's fields numbered in ``want``: an int, or a span.

    Every other field is checked and skipped; runs of one unwanted field (a repeated scalar or short
    string: a tree ensemble's millions of node attributes) are skipped without a yield per field.
    """
    for start, end in chunks:
        pos = start
        while pos < end:
            tag = data[pos]  # one-byte tags and lengths (fields 1..15, short values) are the common case
            if tag < 0x80:
                wire = tag & 7
                if (tag >> 3) not in want and tag >> 3:
                    if wire == _LEN:  # a run of short unwanted strings/messages
                        while (pos + 1 < end and data[pos] == tag and data[pos + 1] < 0x80
                               and pos + 2 + data[pos + 1] <= end):
                            pos += 2 + data[pos + 1]
                        if pos >= end or data[pos] != tag:
                            continue
                    elif wire in _SKIPPABLE:
                        found = _run(tag).match(data, pos, end)
                        if found is not None:
                            pos = found.end()
                            continue
                pos += 1
            else:
                tag, pos = _varint(data, pos, end)
            number, wire = tag >> 3, tag & 7
            if number == 0 or number > MAX_FIELD_NUMBER:
                raise WireFormatError(f"invalid field number {number} at byte {pos}")
            value: int | Span
            if wire == _LEN:
                if pos < end and data[pos] < 0x80:
                    n = data[pos]
                    pos += 1
                else:
                    n, pos = _varint(data, pos, end)
                if n > end - pos:
                    raise WireFormatError(f"field {number} at byte {pos} claims {n} bytes; {end - pos} remain")
                value = (pos, pos + n)
                pos += n
            elif wire == _VARINT:
                if pos < end and data[pos] < 0x80:
                    value = data[pos]
                    pos += 1
                else:
                    value, pos = _varint(data, pos, end)
            elif wire == _FIXED64 or wire == _FIXED32:
                size = 8 if wire == _FIXED64 else 4
                if size > end - pos:
                    raise WireFormatError(f"truncated fixed-width field {number} at byte {pos}")
                value = 0
                pos += size
            else:
                raise WireFormatError(f"unsupported wire type {wire} (field {number}) at byte {pos}")
            if number in want:
                yield number, wire, value


def _text(data: bytes, span: Span) -> str:
    # backslashreplace: a name that is not UTF-8 stays printable (and can match nothing a card names)
    return data[span[0]:span[1]].decode("utf-8", "backslashreplace")


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# ------------------------------------------------------------------ messages


def _tensor(data: bytes, chunks: Chunks) -> TensorRef:
    name, external = "", False
    location = 0
    for number, wire, value in _fields(data, chunks, _W_TENSOR):
        if number == TENSOR["name"] and wire == _LEN:
            name = _text(data, value)  # type: ignore[arg-type]
        elif number == TENSOR["external_data"] and wire == _LEN:
            external = True
        elif number == TENSOR["data_location"] and wire == _VARINT:
            location = value  # type: ignore[assignment]
    return TensorRef(name, external or (location & 0xFFFFFFFF) != 0)


def _sparse(data: bytes, chunks: Chunks) -> list[TensorRef]:
    """A sparse tensor's ``values`` then ``indices`` (both are TensorProtos onnxruntime may load)."""
    parts: dict[int, Chunks] = {SPARSE["values"]: [], SPARSE["indices"]: []}
    for number, wire, value in _fields(data, chunks, _W_SPARSE):
        if number in parts and wire == _LEN:
            parts[number].append(value)  # type: ignore[arg-type]
    return [_tensor(data, parts[SPARSE["values"]]), _tensor(data, parts[SPARSE["indices"]])]


def _width(data: bytes, chunks: Chunks) -> int | None:
    """The second dimension of a ValueInfoProto's tensor shape, if it is 2-D with a fixed value there."""
    type_chunks: Chunks = []
    for number, wire, value in _fields(data, chunks, _W_VALUE_INFO):
        if number == VALUE_INFO["type"] and wire == _LEN:
            type_chunks.append(value)  # type: ignore[arg-type]
    tensor_type: Chunks = []
    oneof_cases = set(TYPE.values())
    for number, wire, value in _fields(data, type_chunks, _W_TYPE):
        if number in oneof_cases and wire == _LEN:
            if number == TYPE["tensor_type"]:
                tensor_type.append(value)  # type: ignore[arg-type]
            else:
                tensor_type = []  # another case of the oneof clears tensor_type
    shape: Chunks = []
    for number, wire, value in _fields(data, tensor_type, _W_TENSOR_TYPE):
        if number == TENSOR_TYPE["shape"] and wire == _LEN:
            shape.append(value)  # type: ignore[arg-type]
    dims: list[Span] = []
    for number, wire, value in _fields(data, shape, _W_SHAPE):
        if number == SHAPE["dim"] and wire == _LEN:
            dims.append(value)  # type: ignore[arg-type]
    if len(dims) != 2:
        return None
    case, dim_value = 0, 0
    for number, wire, value in _fields(data, [dims[1]], _W_DIMENSION):
        if number == DIMENSION["dim_value"] and wire == _VARINT:
            case, dim_value = number, value  # type: ignore[assignment]
        elif number == DIMENSION["dim_param"] and wire == _LEN:
            case = number
    return _int64(dim_value) if case == DIMENSION["dim_value"] else None


def _value_infos(data: bytes, spans: list[Span]) -> tuple[tuple[str, int | None], ...]:
    out = []
    for span in spans:
        name = ""
        for number, wire, value in _fields(data, [span], _W_VALUE_INFO):
            if number == VALUE_INFO["name"] and wire == _LEN:
                name = _text(data, value)  # type: ignore[arg-type]
        out.append((name, _width(data, [span])))
    return tuple(out)


def _spend(budget: list[int], n: int = 1) -> None:
    budget[0] -= n
    if budget[0] < 0:
        raise WireFormatError(f"more than {MAX_ITEMS} graphs, nodes, attributes and tensors")


def _graph(data: bytes, chunks: Chunks, depth: int, out: list[GraphInfo],
           budget: list[int]) -> tuple[list[Span], list[Span]]:
    """Append this graph and (depth first) its subgraphs to ``out``; its input and output spans."""
    if depth > MAX_GRAPH_DEPTH:
        raise WireFormatError(f"subgraphs nest more than {MAX_GRAPH_DEPTH} deep")
    nodes: list[Span] = []
    initializers: list[Span] = []
    sparse: list[Span] = []
    inputs: list[Span] = []
    outputs: list[Span] = []
    lists = {GRAPH["node"]: nodes, GRAPH["initializer"]: initializers, GRAPH["sparse_initializer"]: sparse,
             GRAPH["input"]: inputs, GRAPH["output"]: outputs}
    _spend(budget)
    for number, wire, value in _fields(data, chunks, _W_GRAPH):
        if number in lists and wire == _LEN:
            _spend(budget)
            lists[number].append(value)  # type: ignore[arg-type]

    tensors = [_tensor(data, [span]) for span in initializers]
    attr_t: list[TensorRef] = []
    attr_tensors: list[TensorRef] = []
    attr_sparse: list[TensorRef] = []
    node_refs: list[NodeRef] = []
    subgraphs: list[Chunks] = []
    for node in nodes:
        name = domain = ""
        attributes: list[Span] = []
        for number, wire, value in _fields(data, [node], _W_NODE):
            if wire != _LEN:
                continue
            if number == NODE["name"]:
                name = _text(data, value)  # type: ignore[arg-type]
            elif number == NODE["domain"]:
                domain = _text(data, value)  # type: ignore[arg-type]
            elif number == NODE["attribute"]:
                _spend(budget)
                attributes.append(value)  # type: ignore[arg-type]
        node_refs.append(NodeRef(name, domain))
        for attribute in attributes:
            t: Chunks = []
            g: Chunks = []
            sparse_t: Chunks = []
            graphs: list[Span] = []
            for number, wire, value in _fields(data, [attribute], _W_ATTRIBUTE):
                if wire != _LEN:
                    continue
                _spend(budget)
                if number == ATTRIBUTE["t"]:
                    t.append(value)  # type: ignore[arg-type]
                elif number == ATTRIBUTE["g"]:
                    g.append(value)  # type: ignore[arg-type]
                elif number == ATTRIBUTE["tensors"]:
                    attr_tensors.append(_tensor(data, [value]))  # type: ignore[list-item]
                elif number == ATTRIBUTE["graphs"]:
                    graphs.append(value)  # type: ignore[arg-type]
                elif number == ATTRIBUTE["sparse_tensor"]:
                    sparse_t.append(value)  # type: ignore[arg-type]
                elif number == ATTRIBUTE["sparse_tensors"]:
                    attr_sparse.extend(_sparse(data, [value]))  # type: ignore[list-item]
            if t:
                attr_t.append(_tensor(data, t))
            if sparse_t:
                attr_sparse.extend(_sparse(data, sparse_t))
            if g:
                subgraphs.append(g)
            subgraphs.extend([span] for span in graphs)
    for span in sparse:
        attr_sparse.extend(_sparse(data, [span]))
    out.append(GraphInfo(tuple(tensors + attr_t + attr_tensors + attr_sparse), tuple(node_refs)))
    for sub in subgraphs:
        _graph(data, sub, depth + 1, out, budget)
    return inputs, outputs


def read_model(data: bytes) -> ModelInfo:
    """What the loader checks in a serialized ModelProto; :class:`WireFormatError` if it is malformed."""
    if not isinstance(data, bytes):
        data = bytes(data)
    whole: Chunks = [(0, len(data))]
    graph: Chunks = []
    opsets: list[Span] = []
    metadata: list[Span] = []
    training: list[Span] = []
    n_functions = 0
    budget = [MAX_ITEMS]
    for number, wire, value in _fields(data, whole, _W_MODEL):
        if wire != _LEN:
            continue
        _spend(budget)
        if number == MODEL["graph"]:
            graph.append(value)  # type: ignore[arg-type]
        elif number == MODEL["opset_import"]:
            opsets.append(value)  # type: ignore[arg-type]
        elif number == MODEL["metadata_props"]:
            metadata.append(value)  # type: ignore[arg-type]
        elif number == MODEL["training_info"]:
            training.append(value)  # type: ignore[arg-type]
        elif number == MODEL["functions"]:
            n_functions += 1

    domains = []
    for span in opsets:
        domain = ""
        for number, wire, value in _fields(data, [span], _W_OPSET):
            if number == OPSET["domain"] and wire == _LEN:
                domain = _text(data, value)  # type: ignore[arg-type]
        domains.append(domain)
    props = []
    for span in metadata:
        key = val = ""
        for number, wire, value in _fields(data, [span], _W_ENTRY):
            if number == ENTRY["key"] and wire == _LEN:
                key = _text(data, value)  # type: ignore[arg-type]
            elif number == ENTRY["value"] and wire == _LEN:
                val = _text(data, value)  # type: ignore[arg-type]
        props.append((key, val))

    graphs: list[GraphInfo] = []
    inputs, outputs = _graph(data, graph, 0, graphs, budget)
    for span in training:
        parts: dict[int, Chunks] = {TRAINING["initialization"]: [], TRAINING["algorithm"]: []}
        for number, wire, value in _fields(data, [span], _W_TRAINING):
            if number in parts and wire == _LEN:
                parts[number].append(value)  # type: ignore[arg-type]
        for chunks in parts.values():
            if chunks:
                _graph(data, chunks, 0, graphs, budget)
    return ModelInfo(tuple(domains), n_functions, tuple(graphs), _value_infos(data, inputs),
                     _value_infos(data, outputs), tuple(props))


__all__ = ["MAX_GRAPH_DEPTH", "MAX_ITEMS", "GraphInfo", "ModelInfo", "NodeRef", "TensorRef", "WireFormatError", "read_model"]

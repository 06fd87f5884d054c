"""Merge two exported decoder graphs into one with an `If` on a boolean input, the way the hub's
merged decoders are built (Optimum's `use_cache_branch`): the first decode step runs the branch
that computes the cross-attention keys/values from the encoder states, every later step the
branch that takes them back as inputs. Both branches share their weights (deduplicated by
content), so the merged file is about the size of one.

Used by tools/shapes (the tiny and bench-size BLIP decoders) and tools/blip_export (real
checkpoints).
"""
from __future__ import annotations

import hashlib

import onnx
from onnx import TensorProto, helper, numpy_helper


def _branch(model: onnx.ModelProto, prefix: str, outer_inputs: set[str], shared: dict[str, str],
            initializers: list[onnx.TensorProto], output_names: list[str]) -> onnx.GraphProto:
    """The model's graph as an If branch: no inputs of its own (it reads the outer graph's by
    name), every internal name prefixed, initializers moved to the outer graph (deduplicated)."""
    g = model.graph
    rename: dict[str, str] = {}
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        key = hashlib.sha1(arr.dtype.str.encode() + str(arr.shape).encode() + arr.tobytes()).hexdigest()
        if key not in shared:
            name = f"w{len(shared)}"
            shared[key] = name
            t = numpy_helper.from_array(arr, name)
            initializers.append(t)
        rename[init.name] = shared[key]
    for node in g.node:
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise ValueError(f"{node.op_type} with subgraphs inside a branch is not supported")
        for o in node.output:
            if o:
                rename[o] = f"{prefix}/{o}"
    for i in g.input:
        if i.name not in outer_inputs:
            raise ValueError(f"branch input {i.name} is not an input of the merged graph")
        rename[i.name] = i.name
    nodes = []
    for node in g.node:
        n = onnx.NodeProto()
        n.CopyFrom(node)
        n.name = f"{prefix}/{node.name}" if node.name else ""
        n.input[:] = [rename.get(x, x) if x else x for x in node.input]
        n.output[:] = [rename.get(x, x) if x else x for x in node.output]
        nodes.append(n)
    outs = []
    produced = {o.name: o for o in g.output}
    for name in output_names:
        src = produced[name]
        inner = rename.get(src.name, src.name)
        if inner in outer_inputs:
            # A graph output that is an input as is: a branch must produce its outputs itself.
            ident = f"{prefix}/{name}__out"
            nodes.append(helper.make_node("Identity", [inner], [ident]))
            inner = ident
        elem = src.type.tensor_type.elem_type
        outs.append(helper.make_tensor_value_info(inner, elem, None))
    return helper.make_graph(nodes, f"{prefix}_branch", [], outs)


def merge_if(then_model: onnx.ModelProto, else_model: onnx.ModelProto, inputs: list[onnx.ValueInfoProto],
             outputs: list[onnx.ValueInfoProto], cond: str = "use_cache_branch") -> onnx.ModelProto:
    """`inputs`: the merged graph's inputs (the condition, a bool [1], is added last); `outputs`:
    its outputs, which both branch models must produce under the same names."""
    outer = {i.name for i in inputs} | {cond}
    shared: dict[str, str] = {}
    inits: list[onnx.TensorProto] = []
    names = [o.name for o in outputs]
    then_g = _branch(then_model, "with_cache", outer, shared, inits, names)
    else_g = _branch(else_model, "first_step", outer, shared, inits, names)
    node = helper.make_node("If", [cond], names, then_branch=then_g, else_branch=else_g, name="use_cache_branch")
    graph = helper.make_graph([node], "merged_decoder",
                              [*inputs, helper.make_tensor_value_info(cond, TensorProto.BOOL, [1])],
                              outputs, initializer=inits)
    opset = max(o.version for o in then_model.opset_import if o.domain in ("", "ai.onnx"))
    merged = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                               producer_name="mmrt onnx_merge")
    merged.ir_version = then_model.ir_version
    onnx.checker.check_model(merged)
    return merged


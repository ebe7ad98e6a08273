# Generates the PyTorch float64 oracles for the engine's ops and a tiny transformer block:
#   test/fixtures/ops.json   every op case (broadcasting, non-contiguous views, all matmul forms, both linear
#                            layouts, norms, softmax, attention with GQA, both RoPE layouts, cross-entropy...):
#                            inputs, cotangent, forward output and each input's gradient of sum(out * cot).
#   test/fixtures/block.json a pre-norm block (GPT-2 and Llama flavours) + final norm + LM head + cross-entropy:
#                            parameters, input, targets, logits, loss, every parameter gradient and d input.
# Inputs, cotangents and parameters are rounded to float32 values (so a float32 run sees exactly the same
# numbers) and everything is then computed in float64. Dropout is not here: torch's RNG cannot be matched, so
# test/ops/torch-parity.test.ts checks it by its properties instead.
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_op_fixtures.py
import json, math, os
import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures")


def f32(t):
    """Rounds to float32 values, kept in float64."""
    return t.to(torch.float32).to(torch.float64)


def short32(t):
    """float32-valued tensor -> list of short decimals that still round (via float64) to the same float32."""
    assert torch.equal(f32(t.detach()), t.detach()), "short32: not float32 values (round with f32 first)"
    out = []
    for v in t.detach().to(torch.float32).flatten().numpy():
        s = float(repr(v))
        out.append(s if np.float32(s) == v else float(v))
    return out


def full64(t):
    """Full float64 values; NaN (not JSON) is written as null."""
    return [None if math.isnan(v) else float(v) for v in t.detach().flatten().tolist()]


def leaf_shape(shape, view):
    if view is None or view["kind"] == "expand":
        return list(view["from"]) if view else list(shape)
    if view["kind"] == "transpose":
        return list(shape[:-2]) + [shape[-1], shape[-2]]
    if view["kind"] == "permute":
        s = [0] * len(shape)
        for i, p in enumerate(view["perm"]):
            s[p] = shape[i]
        return s
    if view["kind"] == "slice":
        s = list(shape)
        s[view["dim"]] = view["size"]
        return s
    raise ValueError(view)


def make_view(leaf, shape, view):
    if view is None:
        return leaf
    k = view["kind"]
    if k == "transpose":
        return leaf.transpose(-1, -2)
    if k == "permute":
        return leaf.permute(*view["perm"])
    if k == "slice":
        return leaf.narrow(view["dim"], view["start"], shape[view["dim"]])
    if k == "expand":
        return leaf.expand(*shape)
    raise ValueError(view)


# ---- the ops, written with torch the way the engine documents them ----

def attention_ref(q, k, v, causal=True, scale=None):  # q (B, nh, T, hs), k/v (B, nkv, Tk, hs)
    T, hs, Tk = q.shape[2], q.shape[3], k.shape[2]
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)  # HF repeat_kv
    s = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(hs) if scale is None else scale)
    if causal:
        i = torch.arange(T)[:, None]
        j = torch.arange(Tk)[None, :]
        s = s.masked_fill(j > i + Tk - T, float("-inf"))
    return s.softmax(-1) @ v


def rope_angles(T, hs, theta, start):
    inv = theta ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)  # theta^(-2i/hs)
    return (start + torch.arange(T, dtype=torch.float64))[:, None] * inv[None, :]  # (T, hs/2)


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat((-x2, x1), -1)


def rope_ref(x, theta, start, layout):  # x (..., T, hs)
    T, hs = x.shape[-2], x.shape[-1]
    ang = rope_angles(T, hs, theta, start)
    if layout == "half":  # HF: cos/sin = cat(freqs, freqs)
        cos, sin = torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin()
        return x * cos + rotate_half(x) * sin
    c, s = ang.cos(), ang.sin()  # llama2.c: pairs (2i, 2i+1)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), -1).flatten(-2)


def softmax_ref(x, causal):
    if causal:
        T, Tk = x.shape[-2], x.shape[-1]
        i = torch.arange(T)[:, None]
        j = torch.arange(Tk)[None, :]
        x = x.masked_fill(j > i + Tk - T, float("-inf"))
    return x.softmax(-1)


def rms_norm_ref(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gelu_new(x):  # GPT-2's gelu_new (the tanh form)
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def nslice(x, dim, start, end):
    n = x.shape[dim]
    s = start + n if start < 0 else start
    e = end + n if end < 0 else end
    return x.narrow(dim, s, e - s)


def op_ref(op, a, xs):
    x = xs[0] if xs else None
    if op in ("add", "sub", "mul", "div", "maximum", "minimum"):
        return getattr(torch, op)(xs[0], xs[1])
    if op == "affine":
        return a["alpha"] * x + a["beta"]
    if op == "scale":
        return a["s"] * x
    if op == "addScalar":
        return x + a["c"]
    if op in ("neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "square"):
        return getattr(torch, op)(x)
    if op == "pow":
        return x ** a["p"]
    if op == "gelu":
        return F.gelu(x, approximate="tanh")
    if op == "silu":
        return F.silu(x)
    if op in ("sum", "mean"):
        f = torch.sum if op == "sum" else torch.mean
        return f(x) if a.get("dims") is None else f(x, a["dims"], keepdim=a.get("keepdim", False))
    if op == "reshape":
        return x.reshape(a["shape"])
    if op == "permute":
        return x.permute(*a["perm"])
    if op == "transpose":
        return x.transpose(a["d0"], a["d1"])
    if op == "slice":
        return nslice(x, a["dim"], a["start"], a["end"])
    if op == "expand":
        return x.expand(*a["shape"])
    if op == "contiguous":
        return x.contiguous()
    if op == "concat":
        return torch.cat(xs, a["dim"])
    if op == "matmul":
        A = xs[0].transpose(-1, -2) if a.get("transA") else xs[0]
        Bm = xs[1].transpose(-1, -2) if a.get("transB") else xs[1]
        return A @ Bm
    if op == "linear":
        b = xs[2] if len(xs) > 2 else None
        if a.get("layout", "out_in") == "out_in":
            return F.linear(xs[0], xs[1], b)  # nn.Linear: weight (out, in)
        y = xs[0] @ xs[1]  # GPT-2 Conv1D: weight (in, out)
        return y + b if b is not None else y
    if op == "embedding":
        return F.embedding(torch.tensor(a["ids"]).reshape(a["idsShape"]), x)
    if op == "layerNorm":
        return F.layer_norm(x, (x.shape[-1],), xs[1], xs[2] if len(xs) > 2 else None, a["eps"])
    if op == "rmsNorm":
        return rms_norm_ref(x, xs[1], a["eps"])
    if op == "softmax":
        return softmax_ref(x, a.get("causal", False))
    if op == "attention":
        return attention_ref(xs[0], xs[1], xs[2], a.get("causal", True), a.get("scale"))
    if op == "qkvAttention":  # GPT-2's packed (B, T, 3C) c_attn output, split into heads, merged back to (B, T, C)
        B, T, C3 = x.shape
        q, k, v = (p.reshape(B, T, a["nh"], -1).transpose(1, 2) for p in x.split(C3 // 3, -1))
        return attention_ref(q, k, v, a.get("causal", True), a.get("scale")).transpose(1, 2).reshape(B, T, C3 // 3)
    if op == "rope":
        return rope_ref(x, a["theta"], a["start"], a["layout"])
    if op == "crossEntropy":
        V = x.shape[-1]
        return F.cross_entropy(x.reshape(-1, V), torch.tensor(a["targets"]), ignore_index=a.get("ignoreIndex", -100),
                               reduction=a.get("reduction", "mean"))
    if op == "linearCrossEntropy":  # the fused LM head + cross-entropy: x (N, C), weight (V, C), bias (V)
        logits = F.linear(x, xs[1], xs[2] if len(xs) > 2 else None)
        return F.cross_entropy(logits, torch.tensor(a["targets"]), ignore_index=a.get("ignoreIndex", -100),
                               reduction=a.get("reduction", "mean"))
    raise ValueError(op)


# ---- op cases (mirroring test/ops/gradcheck.test.ts, plus views with offsets, stride-0 inputs, GQA, ...) ----

def I(shape, view=None, pos=False, scale=1.0, grad=True):
    return {"shape": list(shape), "view": view, "pos": pos, "scale": scale, "grad": grad}


T_ = {"kind": "transpose"}
P = lambda *perm: {"kind": "permute", "perm": list(perm)}
S = lambda dim, start, size: {"kind": "slice", "dim": dim, "start": start, "size": size}
E = lambda *frm: {"kind": "expand", "from": list(frm)}

CASES = [
    # binary, with broadcasting (both sides, rank extension, a 0-d operand) and views
    ("add broadcast", "add", {}, [I([2, 3, 4]), I([3, 1])]),
    ("add transposed", "add", {}, [I([3, 4], T_), I([4])]),
    ("add scalar tensor", "add", {}, [I([3, 4]), I([])]),
    ("sub broadcast", "sub", {}, [I([1, 4]), I([3, 1])]),
    ("sub sliced", "sub", {}, [I([3, 4], S(1, 2, 7)), I([3, 4], T_)]),
    ("mul broadcast", "mul", {}, [I([2, 3, 4]), I([2, 1, 4])]),
    ("mul permuted", "mul", {}, [I([4, 2, 3], P(2, 0, 1)), I([2, 3])]),
    ("div broadcast", "div", {}, [I([3, 4]), I([4], pos=True)]),
    ("div transposed denominator", "div", {}, [I([2, 3]), I([2, 3], T_, pos=True)]),
    ("maximum", "maximum", {}, [I([3, 4]), I([3, 4])]),
    ("maximum broadcast", "maximum", {}, [I([2, 3, 4]), I([3, 1])]),
    ("minimum broadcast", "minimum", {}, [I([3, 4]), I([1, 4])]),
    # unary and activations (some on wide ranges, some on views)
    ("affine", "affine", {"alpha": -1.5, "beta": 0.25}, [I([3, 4], T_)]),
    ("scale", "scale", {"s": 0.125}, [I([2, 5])]),
    ("addScalar", "addScalar", {"c": -3.0}, [I([2, 5], S(0, 1, 4))]),
    ("neg", "neg", {}, [I([6])]),
    ("exp", "exp", {}, [I([3, 4], T_, scale=3.0)]),
    ("log", "log", {}, [I([3, 4], pos=True)]),
    ("sqrt", "sqrt", {}, [I([7], pos=True)]),
    ("rsqrt", "rsqrt", {}, [I([7], pos=True)]),
    ("tanh", "tanh", {}, [I([3, 5], scale=3.0)]),
    ("sigmoid", "sigmoid", {}, [I([3, 5], scale=4.0)]),
    ("relu", "relu", {}, [I([3, 5])]),
    ("square", "square", {}, [I([3, 5], T_)]),
    ("pow", "pow", {"p": 2.5}, [I([6], pos=True)]),
    ("pow negative exponent", "pow", {"p": -1.5}, [I([2, 3], T_, pos=True)]),
    ("gelu", "gelu", {}, [I([4, 6], T_, scale=3.0)]),
    ("silu", "silu", {}, [I([4, 6], scale=3.0)]),
    ("silu sliced", "silu", {}, [I([2, 3, 4], S(2, 1, 6))]),
    # reductions
    ("sum all", "sum", {}, [I([3, 4], T_)]),
    ("sum dims", "sum", {"dims": [0, 2]}, [I([2, 3, 4])]),
    ("sum keepdim", "sum", {"dims": -1, "keepdim": True}, [I([2, 3, 4])]),
    ("sum permuted", "sum", {"dims": 1}, [I([3, 4, 2], P(1, 2, 0))]),
    ("mean", "mean", {"dims": 1}, [I([2, 3, 4])]),
    ("mean all", "mean", {}, [I([2, 3, 4])]),
    ("mean keepdim transposed", "mean", {"dims": [-1], "keepdim": True}, [I([3, 5], T_)]),
    # views and copies
    ("reshape", "reshape", {"shape": [4, -1]}, [I([2, 3, 4], T_)]),
    ("reshape contiguous", "reshape", {"shape": [3, 2, 4]}, [I([2, 3, 4])]),
    ("permute", "permute", {"perm": [2, 0, 1]}, [I([2, 3, 4])]),
    ("transpose", "transpose", {"d0": 0, "d1": 1}, [I([3, 4])]),
    ("transpose 3-D", "transpose", {"d0": 0, "d1": -1}, [I([2, 3, 4], P(1, 0, 2))]),
    ("slice", "slice", {"dim": 1, "start": 1, "end": -1}, [I([3, 5, 2])]),
    ("slice of transposed", "slice", {"dim": 0, "start": 2, "end": 4}, [I([5, 3], T_)]),
    ("expand", "expand", {"shape": [2, 3, 4]}, [I([3, 1])]),
    ("contiguous", "contiguous", {}, [I([3, 4], T_)]),
    ("concat", "concat", {"dim": 1}, [I([2, 3]), I([2, 2])]),
    ("concat transposed", "concat", {"dim": 0}, [I([2, 3], T_), I([1, 3])]),
    ("concat three last dim", "concat", {"dim": -1}, [I([2, 2, 1]), I([2, 2, 3], S(0, 1, 3)), I([2, 2, 2], P(1, 0, 2))]),
    # matmul: every transpose form, batched, broadcast 2-D operands, views
    ("matmul", "matmul", {}, [I([3, 4]), I([4, 5])]),
    ("matmul transA", "matmul", {"transA": True}, [I([4, 3]), I([4, 5])]),
    ("matmul transB", "matmul", {"transB": True}, [I([3, 4]), I([5, 4])]),
    ("matmul transA transB", "matmul", {"transA": True, "transB": True}, [I([4, 3]), I([5, 4])]),
    ("matmul batched", "matmul", {}, [I([2, 3, 4]), I([2, 4, 2])]),
    ("matmul batched 4-D transB", "matmul", {"transB": True}, [I([2, 2, 3, 4]), I([2, 2, 5, 4])]),
    ("matmul broadcast b", "matmul", {"transB": True}, [I([2, 3, 4]), I([5, 4])]),
    ("matmul broadcast a, transA", "matmul", {"transA": True}, [I([4, 3]), I([2, 4, 2])]),
    ("matmul broadcast b 4-D", "matmul", {}, [I([2, 2, 3, 4]), I([4, 3])]),
    ("matmul non-contiguous", "matmul", {}, [I([3, 4], T_), I([4, 2], T_)]),
    ("matmul sliced and expanded", "matmul", {"transB": True}, [I([2, 3, 4], S(1, 1, 5)), I([2, 5, 4], E(5, 4))]),
    # linear: nn.Linear (out, in) and GPT-2 Conv1D (in, out)
    ("linear", "linear", {"layout": "out_in"}, [I([2, 3, 4]), I([5, 4]), I([5])]),
    ("linear no bias", "linear", {"layout": "out_in"}, [I([3, 4], T_), I([2, 4])]),
    ("linear conv1d", "linear", {"layout": "in_out"}, [I([3, 4]), I([4, 5]), I([5])]),
    ("linear conv1d 3-D no bias", "linear", {"layout": "in_out"}, [I([2, 3, 4], S(1, 1, 4)), I([4, 6])]),
    ("linear transposed weight", "linear", {"layout": "out_in"}, [I([2, 3, 4]), I([3, 4], T_), I([3])]),
    ("linear frozen weight", "linear", {"layout": "out_in"}, [I([3, 4]), I([2, 4], grad=False)]),
    # embedding (repeated ids: the backward scatter-adds)
    ("embedding", "embedding", {"ids": [3, 0, 4, 3, 1, 3], "idsShape": [2, 3]}, [I([5, 4])]),
    ("embedding 3-D ids", "embedding", {"ids": [2, 2, 0, 6, 1, 2, 5, 6], "idsShape": [2, 2, 2]}, [I([7, 3])]),
    # norms
    ("layerNorm", "layerNorm", {"eps": 1e-5}, [I([2, 3, 6]), I([6]), I([6])]),
    ("layerNorm transposed", "layerNorm", {"eps": 1e-5}, [I([4, 5], T_), I([5])]),
    ("layerNorm shifted", "layerNorm", {"eps": 1e-5}, [I([3, 8], scale=0.1), I([8]), I([8])]),
    ("rmsNorm", "rmsNorm", {"eps": 1e-6}, [I([2, 3, 6]), I([6])]),
    ("rmsNorm permuted", "rmsNorm", {"eps": 1e-5}, [I([3, 2, 4], P(1, 0, 2)), I([4])]),
    # softmax (plain, causal square and causal with more keys than queries, large logits)
    ("softmax", "softmax", {}, [I([3, 5], T_)]),
    ("softmax large", "softmax", {}, [I([2, 7], scale=30.0)]),
    ("softmax causal", "softmax", {"causal": True}, [I([2, 4, 4])]),
    ("softmax causal KV longer", "softmax", {"causal": True}, [I([2, 3, 5])]),
    # attention (hand-written reference: q k^T scale, causal mask j > i + Tk - T, softmax, @ v; GQA repeat_kv)
    ("attention causal", "attention", {}, [I([2, 2, 4, 3]), I([2, 2, 4, 3]), I([2, 2, 4, 3])]),
    ("attention GQA", "attention", {}, [I([1, 4, 3, 2]), I([1, 2, 3, 2]), I([1, 2, 3, 2])]),
    ("attention GQA KV longer", "attention", {}, [I([2, 4, 2, 3]), I([2, 2, 5, 3]), I([2, 2, 5, 3])]),
    ("attention KV longer", "attention", {}, [I([1, 2, 2, 2]), I([1, 1, 5, 2]), I([1, 1, 5, 2])]),
    ("attention non-causal", "attention", {"causal": False}, [I([1, 2, 3, 2]), I([1, 2, 4, 2]), I([1, 2, 4, 2])]),
    ("attention scale", "attention", {"scale": 0.7}, [I([1, 2, 3, 4]), I([1, 2, 3, 4]), I([1, 2, 3, 4])]),
    ("attention transposed q", "attention", {}, [I([1, 2, 3, 3], T_), I([1, 2, 3, 3]), I([1, 2, 3, 3])]),
    ("attention heads permuted", "attention", {},
     [I([2, 2, 4, 3], P(0, 2, 1, 3)), I([2, 1, 4, 3], P(0, 2, 1, 3)), I([2, 1, 4, 3], P(0, 2, 1, 3))]),
    # rope: HF rotate-half and interleaved pairs, with a start offset, on contiguous and permuted inputs
    ("rope half", "rope", {"theta": 10000.0, "start": 3, "layout": "half"}, [I([2, 2, 3, 4])]),
    ("rope interleaved", "rope", {"theta": 10000.0, "start": 3, "layout": "interleaved"}, [I([2, 3, 6])]),
    ("rope half start 0 permuted", "rope", {"theta": 10000.0, "start": 0, "layout": "half"}, [I([1, 2, 5, 8], P(0, 2, 1, 3))]),
    ("rope interleaved theta 500000", "rope", {"theta": 500000.0, "start": 7, "layout": "interleaved"}, [I([2, 4, 8])]),
    # cross-entropy: mean, ignore_index, sum, all rows ignored (torch: NaN loss, zero gradient)
    ("crossEntropy", "crossEntropy", {"targets": [1, 0, 4, 2]}, [I([4, 5])]),
    ("crossEntropy ignore", "crossEntropy", {"targets": [1, -100, 4, -100, 0, 3], "ignoreIndex": -100}, [I([2, 3, 5])]),
    ("crossEntropy sum", "crossEntropy", {"targets": [1, 7, 2], "ignoreIndex": 7, "reduction": "sum"}, [I([3, 4], T_)]),
    ("crossEntropy large logits", "crossEntropy", {"targets": [0, 6, 3]}, [I([3, 7], scale=40.0)]),
    ("crossEntropy all ignored", "crossEntropy", {"targets": [-100, -100]}, [I([2, 3])]),
    ("crossEntropy sliced", "crossEntropy", {"targets": [2, 0, -100, 1]}, [I([4, 3], S(1, 1, 5))]),
    # fused LM head + cross-entropy over row chunks: chunks that do and do not divide N, bias, a fully ignored
    # chunk, sum, a frozen weight, a transposed x
    ("linearCrossEntropy", "linearCrossEntropy", {"targets": [1, 0, 4, 2, 5], "chunkRows": 2}, [I([5, 4]), I([6, 4]), I([6])]),
    ("linearCrossEntropy ignore sum", "linearCrossEntropy",
     {"targets": [-100, -100, -100, 1, 4, -100], "reduction": "sum", "chunkRows": 3}, [I([6, 4]), I([5, 4])]),
    ("linearCrossEntropy frozen weight", "linearCrossEntropy", {"targets": [3, -100, 0, 2], "chunkRows": 1},
     [I([4, 3]), I([7, 3], grad=False), I([7])]),
    ("linearCrossEntropy transposed x", "linearCrossEntropy", {"targets": [2, 6, 1], "chunkRows": 64}, [I([3, 4], T_), I([7, 4])]),
    # GPT-2's attention straight from the packed c_attn output (appended last: earlier cases keep their draws)
    ("qkvAttention", "qkvAttention", {"nh": 2}, [I([2, 4, 12])]),
    ("qkvAttention non-causal scale", "qkvAttention", {"nh": 3, "causal": False, "scale": 0.6}, [I([1, 3, 18])]),
    ("qkvAttention sliced", "qkvAttention", {"nh": 2}, [I([1, 3, 12], S(2, 2, 16))]),
]


def build_case(name, op, args, specs):
    leaves, views, inputs = [], [], []
    for s in specs:
        ls = leaf_shape(s["shape"], s["view"])
        v = torch.randn(ls) * s["scale"]
        if s["pos"]:
            v = 0.5 + v.abs()
        leaf = f32(v).requires_grad_(s["grad"])
        leaves.append(leaf)
        views.append(make_view(leaf, s["shape"], s["view"]))
        view = None if s["view"] is None else {k: val for k, val in s["view"].items() if k not in ("size", "from")}
        inputs.append({"shape": s["shape"], "leafShape": ls, "view": view, "requiresGrad": s["grad"], "data": short32(leaf)})
    out = op_ref(op, args, views)
    cot = f32(torch.randn(out.shape))
    want = [l for l in leaves if l.requires_grad]
    grads = torch.autograd.grad((out * cot).sum(), want, allow_unused=True)
    it = iter(grads)
    gl = []
    for l in leaves:
        if not l.requires_grad:
            gl.append(None)
            continue
        g = next(it)
        gl.append(full64(g if g is not None else torch.zeros_like(l)))
    return {"name": name, "op": op, "args": args, "inputs": inputs,
            "out": {"shape": list(out.shape), "data": full64(out)},
            "cot": short32(cot), "grads": gl}


# ---- the tiny block ----
B, T, C, V = 2, 5, 8, 11


def rand(*shape, scale=0.3):
    return f32(torch.randn(*shape) * scale)


def gpt2_block():
    nh, hs, eps = 2, C // 2, 1e-5
    p = {"ln_1.weight": f32(1 + rand(C, scale=0.1)), "ln_1.bias": rand(C, scale=0.1),
         "attn.c_attn.weight": rand(C, 3 * C), "attn.c_attn.bias": rand(3 * C, scale=0.1),
         "attn.c_proj.weight": rand(C, C), "attn.c_proj.bias": rand(C, scale=0.1),
         "ln_2.weight": f32(1 + rand(C, scale=0.1)), "ln_2.bias": rand(C, scale=0.1),
         "mlp.c_fc.weight": rand(C, 4 * C), "mlp.c_fc.bias": rand(4 * C, scale=0.1),
         "mlp.c_proj.weight": rand(4 * C, C), "mlp.c_proj.bias": rand(C, scale=0.1),
         "ln_f.weight": f32(1 + rand(C, scale=0.1)), "ln_f.bias": rand(C, scale=0.1),
         "lm_head.weight": rand(V, C)}

    def forward(p, x):
        ln = lambda x, n: F.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], eps)
        conv1d = lambda x, n: x @ p[n + ".weight"] + p[n + ".bias"]  # weight (in, out)
        q, k, v = conv1d(ln(x, "ln_1"), "attn.c_attn").split(C, 2)  # (B, T, C) each
        heads = lambda t: t.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        y = attention_ref(heads(q), heads(k), heads(v)).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, "attn.c_proj")
        x = x + conv1d(gelu_new(conv1d(ln(x, "ln_2"), "mlp.c_fc")), "mlp.c_proj")
        return F.linear(ln(x, "ln_f"), p["lm_head.weight"])  # (B, T, V)

    cfg = {"B": B, "T": T, "C": C, "V": V, "nh": nh, "hs": hs, "eps": eps}
    return cfg, p, forward


def llama_block():
    nh, nkv, hs, I_, eps, theta = 4, 2, C // 4, 16, 1e-6, 10000.0
    p = {"input_layernorm.weight": f32(1 + rand(C, scale=0.1)),
         "self_attn.q_proj.weight": rand(nh * hs, C), "self_attn.k_proj.weight": rand(nkv * hs, C),
         "self_attn.v_proj.weight": rand(nkv * hs, C), "self_attn.o_proj.weight": rand(C, nh * hs),
         "post_attention_layernorm.weight": f32(1 + rand(C, scale=0.1)),
         "mlp.gate_proj.weight": rand(I_, C), "mlp.up_proj.weight": rand(I_, C), "mlp.down_proj.weight": rand(C, I_),
         "norm.weight": f32(1 + rand(C, scale=0.1)), "lm_head.weight": rand(V, C)}

    def forward(p, x):
        lin = lambda x, n: F.linear(x, p[n + ".weight"])  # weight (out, in)
        h = rms_norm_ref(x, p["input_layernorm.weight"], eps)
        heads = lambda t, n: t.view(B, T, n, hs).transpose(1, 2)  # (B, n, T, hs)
        q = rope_ref(heads(lin(h, "self_attn.q_proj"), nh), theta, 0, "half")
        k = rope_ref(heads(lin(h, "self_attn.k_proj"), nkv), theta, 0, "half")
        v = heads(lin(h, "self_attn.v_proj"), nkv)
        y = attention_ref(q, k, v).transpose(1, 2).reshape(B, T, nh * hs)
        x = x + lin(y, "self_attn.o_proj")
        h = rms_norm_ref(x, p["post_attention_layernorm.weight"], eps)
        x = x + lin(F.silu(lin(h, "mlp.gate_proj")) * lin(h, "mlp.up_proj"), "mlp.down_proj")
        return lin(rms_norm_ref(x, p["norm.weight"], eps), "lm_head")  # (B, T, V)

    cfg = {"B": B, "T": T, "C": C, "V": V, "nh": nh, "nkv": nkv, "hs": hs, "intermediate": I_, "eps": eps, "theta": theta}
    return cfg, p, forward


def build_block(make):
    cfg, p, forward = make()
    x = f32(torch.randn(B, T, C)).requires_grad_(True)
    targets = torch.randint(0, V, (B, T))
    targets[0, 2] = -100
    for t in p.values():
        t.requires_grad_(True)
    logits = forward(p, x)
    loss = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=-100)
    names = list(p)
    grads = torch.autograd.grad(loss, [p[n] for n in names] + [x])
    return {"config": cfg, "x": short32(x), "targets": targets.flatten().tolist(),
            "params": {n: {"shape": list(p[n].shape), "data": short32(p[n])} for n in names},
            "logits": full64(logits), "loss": loss.item(),
            "grads": {n: full64(g) for n, g in zip(names, grads[:-1])}, "dx": full64(grads[-1])}


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    cases = [build_case(*c) for c in CASES]
    write("ops.json", {"generator": "scripts/gen_op_fixtures.py", "torch": torch.__version__, "cases": cases})
    torch.manual_seed(1)
    write("block.json", {"generator": "scripts/gen_op_fixtures.py", "torch": torch.__version__,
                         "gpt2": build_block(gpt2_block), "llama": build_block(llama_block)})

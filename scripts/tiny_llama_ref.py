# The tiny Llama of the LISA fixtures (lisa.json, bf16.json), written by hand (no transformers): config, seeded
# parameters and the forward, in torch's default dtype at call time. Imported by gen_lisa_fixture.py and
# gen_bf16_fixture.py.
import math
import torch

CFG = dict(vocab=32, C=16, inter=24, L=4, nh=4, nkv=2, eps=1e-6, theta=10000.0)
B, T, STEPS, PERIOD = 2, 8, 8, 2
SCHEDULE = [[0, 1], [2], [1, 3]]
LR, WD, BETAS, EPS = 1e-2, 0.1, (0.9, 0.999), 1e-8

def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    C, I, hs = CFG["C"], CFG["inter"], CFG["C"] // CFG["nh"]
    p = {"model.embed_tokens.weight": torch.randn(CFG["vocab"], C, generator=g) * 0.5}
    for i in range(CFG["L"]):
        pre = f"model.layers.{i}."
        p[pre + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        p[pre + "self_attn.q_proj.weight"] = torch.randn(CFG["nh"] * hs, C, generator=g) * 0.3
        p[pre + "self_attn.k_proj.weight"] = torch.randn(CFG["nkv"] * hs, C, generator=g) * 0.3
        p[pre + "self_attn.v_proj.weight"] = torch.randn(CFG["nkv"] * hs, C, generator=g) * 0.3
        p[pre + "self_attn.o_proj.weight"] = torch.randn(C, CFG["nh"] * hs, generator=g) * 0.3
        p[pre + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
        p[pre + "mlp.gate_proj.weight"] = torch.randn(I, C, generator=g) * 0.3
        p[pre + "mlp.up_proj.weight"] = torch.randn(I, C, generator=g) * 0.3
        p[pre + "mlp.down_proj.weight"] = torch.randn(C, I, generator=g) * 0.3
    p["model.norm.weight"] = 1 + 0.1 * torch.randn(C, generator=g)
    p["lm_head.weight"] = torch.randn(CFG["vocab"], C, generator=g) * 0.3
    return p

def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + CFG["eps"]) * w

def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)

def forward(p, ids, attn_mm=torch.matmul):
    """attn_mm: the product used inside attention (the autocast fixture keeps it in fp32)."""
    C, nh, nkv = CFG["C"], CFG["nh"], CFG["nkv"]
    hs = C // nh
    inv = CFG["theta"] ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    dt = torch.get_default_dtype()  # float64 for lisa.json, float32 for bf16.json
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1).to(dt), torch.cat([ang.sin(), ang.sin()], -1).to(dt)
    x = p["model.embed_tokens.weight"][ids]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for i in range(CFG["L"]):
        pre = f"model.layers.{i}."
        h = rms(x, p[pre + "input_layernorm.weight"])
        q = (h @ p[pre + "self_attn.q_proj.weight"].T).view(B, T, nh, hs).transpose(1, 2)
        k = (h @ p[pre + "self_attn.k_proj.weight"].T).view(B, T, nkv, hs).transpose(1, 2)
        v = (h @ p[pre + "self_attn.v_proj.weight"].T).view(B, T, nkv, hs).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
        att = attn_mm(q, k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = attn_mm(att, v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[pre + "self_attn.o_proj.weight"].T
        h = rms(x, p[pre + "post_attention_layernorm.weight"])
        m = torch.nn.functional.silu(h @ p[pre + "mlp.gate_proj.weight"].T) * (h @ p[pre + "mlp.up_proj.weight"].T)
        x = x + m @ p[pre + "mlp.down_proj.weight"].T
    x = rms(x, p["model.norm.weight"])
    return x @ p["lm_head.weight"].T

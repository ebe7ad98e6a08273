# Generates test/fixtures/lisa.json: per-step losses of a tiny Llama trained with torch AdamW while a fixed
# LISA schedule freezes blocks (requires_grad=False), in both state modes: 'reset' drops the AdamW state of
# blocks leaving the active set, 'keep' retains it. Float64. The model is written by hand (no transformers).
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_lisa_fixture.py
import json, math, os
import torch

torch.set_default_dtype(torch.float64)
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

def forward(p, ids):
    C, nh, nkv = CFG["C"], CFG["nh"], CFG["nkv"]
    hs = C // nh
    inv = CFG["theta"] ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)
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
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p[pre + "self_attn.o_proj.weight"].T
        h = rms(x, p[pre + "post_attention_layernorm.weight"])
        m = torch.nn.functional.silu(h @ p[pre + "mlp.gate_proj.weight"].T) * (h @ p[pre + "mlp.up_proj.weight"].T)
        x = x + m @ p[pre + "mlp.down_proj.weight"].T
    x = rms(x, p["model.norm.weight"])
    return x @ p["lm_head.weight"].T

def train(init, data, mode):
    p = {k: torch.nn.Parameter(v.clone()) for k, v in init.items()}
    decay = [v for v in p.values() if v.dim() >= 2]
    nodecay = [v for v in p.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    block = lambda n: int(n.split(".")[2]) if n.startswith("model.layers.") else None
    active, losses = [], []
    for step in range(STEPS):
        if step % PERIOD == 0:
            nxt = SCHEDULE[(step // PERIOD) % len(SCHEDULE)]
            for n, v in p.items():
                b = block(n)
                if b is None:
                    continue
                v.requires_grad_(b in nxt)
                if mode == "reset" and b in active and b not in nxt:
                    opt.state.pop(v, None)
            active = nxt
        opt.zero_grad(set_to_none=True)
        ids, tgt = data[step]
        logits = forward(p, ids)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CFG["vocab"]), tgt.reshape(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses

init = make_params(1)
g = torch.Generator().manual_seed(2)
data = []
for step in range(STEPS):
    ids = torch.randint(0, CFG["vocab"], (B, T + 1), generator=g)
    data.append((ids[:, :-1].contiguous(), ids[:, 1:].contiguous()))
out = {
    "config": {"model_type": "llama", "vocab_size": CFG["vocab"], "hidden_size": CFG["C"], "intermediate_size": CFG["inter"],
               "num_hidden_layers": CFG["L"], "num_attention_heads": CFG["nh"], "num_key_value_heads": CFG["nkv"],
               "rms_norm_eps": CFG["eps"], "rope_theta": CFG["theta"], "max_position_embeddings": 64, "tie_word_embeddings": False},
    "B": B, "T": T, "period": PERIOD, "schedule": SCHEDULE, "lr": LR, "weightDecay": WD, "betas": list(BETAS), "eps": EPS,
    "init": {k: v.flatten().tolist() for k, v in init.items()},
    "data": [{"ids": i.flatten().tolist(), "targets": t.flatten().tolist()} for i, t in data],
    "losses": {"reset": train(init, data, "reset"), "keep": train(init, data, "keep")},
}
path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "lisa.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, out["losses"])

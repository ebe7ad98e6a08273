# Generates tiny random HF checkpoints and their PyTorch float64 reference (logits, loss, every parameter
# gradient) for GPT-2 (tied head), Llama (GQA, untied head) and Qwen2 (q/k/v biases, tied head, rope_theta).
# Weights are rounded to float32 (what the checkpoint stores) and then computed in float64. The models are
# written by hand (no transformers here), as are the safetensors files.
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_model_fixtures.py
import json, math, os, struct
import torch

torch.set_default_dtype(torch.float64)
ROOT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "models")
B, T = 2, 7

def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name in sorted(tensors):
        data = tensors[name].to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)

def rand(g, *shape, scale=0.3):
    return (torch.randn(*shape, generator=g) * scale).to(torch.float32).to(torch.float64)

def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def attention(q, k, v):  # (B, nh, T, hs), k/v (B, nkv, T, hs)
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    return att.masked_fill(mask, float("-inf")).softmax(-1) @ v

def gpt2(seed):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 40, "n_positions": 32, "n_embd": 16,
           "n_layer": 2, "n_head": 2, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "tie_word_embeddings": True}
    g = torch.Generator().manual_seed(seed)
    C, V = 16, 40
    p = {"transformer.wte.weight": rand(g, V, C), "transformer.wpe.weight": rand(g, 32, C),
         "transformer.ln_f.weight": 1 + rand(g, C, scale=0.1), "transformer.ln_f.bias": rand(g, C, scale=0.1)}
    for i in range(2):
        h = f"transformer.h.{i}."
        p.update({h + "ln_1.weight": 1 + rand(g, C, scale=0.1), h + "ln_1.bias": rand(g, C, scale=0.1),
                  h + "attn.c_attn.weight": rand(g, C, 3 * C), h + "attn.c_attn.bias": rand(g, 3 * C, scale=0.1),
                  h + "attn.c_proj.weight": rand(g, C, C), h + "attn.c_proj.bias": rand(g, C, scale=0.1),
                  h + "ln_2.weight": 1 + rand(g, C, scale=0.1), h + "ln_2.bias": rand(g, C, scale=0.1),
                  h + "mlp.c_fc.weight": rand(g, C, 4 * C), h + "mlp.c_fc.bias": rand(g, 4 * C, scale=0.1),
                  h + "mlp.c_proj.weight": rand(g, 4 * C, C), h + "mlp.c_proj.bias": rand(g, C, scale=0.1)})

    def forward(p, ids):
        ln = lambda x, n: torch.nn.functional.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], 1e-5)
        x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][:T]
        for i in range(2):
            h = f"transformer.h.{i}."
            qkv = ln(x, h + "ln_1") @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
            q, k, v = [t.view(B, T, 2, C // 2).transpose(1, 2) for t in qkv.split(C, -1)]
            y = attention(q, k, v).transpose(1, 2).reshape(B, T, C)
            x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
            m = gelu_new(ln(x, h + "ln_2") @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"])
            x = x + m @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
        return ln(x, "transformer.ln_f") @ p["transformer.wte.weight"].T
    return cfg, p, forward

def llama_like(seed, qwen):
    C, I, V, nh, nkv = 16, 24, 40, 4, 2
    hs, theta, eps = C // nh, (1e6 if qwen else 10000.0), 1e-6
    cfg = {"model_type": "qwen2" if qwen else "llama", "architectures": ["Qwen2ForCausalLM" if qwen else "LlamaForCausalLM"],
           "vocab_size": V, "hidden_size": C, "intermediate_size": I, "num_hidden_layers": 2, "num_attention_heads": nh,
           "num_key_value_heads": nkv, "rms_norm_eps": eps, "rope_theta": theta, "max_position_embeddings": 32,
           "tie_word_embeddings": qwen, "hidden_act": "silu"}
    g = torch.Generator().manual_seed(seed)
    p = {"model.embed_tokens.weight": rand(g, V, C, scale=0.5), "model.norm.weight": 1 + rand(g, C, scale=0.1)}
    if not qwen:
        p["lm_head.weight"] = rand(g, V, C)
    for i in range(2):
        h = f"model.layers.{i}."
        p.update({h + "input_layernorm.weight": 1 + rand(g, C, scale=0.1), h + "post_attention_layernorm.weight": 1 + rand(g, C, scale=0.1),
                  h + "self_attn.q_proj.weight": rand(g, nh * hs, C), h + "self_attn.k_proj.weight": rand(g, nkv * hs, C),
                  h + "self_attn.v_proj.weight": rand(g, nkv * hs, C), h + "self_attn.o_proj.weight": rand(g, C, nh * hs),
                  h + "mlp.gate_proj.weight": rand(g, I, C), h + "mlp.up_proj.weight": rand(g, I, C), h + "mlp.down_proj.weight": rand(g, C, I)})
        if qwen:
            p.update({h + "self_attn.q_proj.bias": rand(g, nh * hs, scale=0.1), h + "self_attn.k_proj.bias": rand(g, nkv * hs, scale=0.1),
                      h + "self_attn.v_proj.bias": rand(g, nkv * hs, scale=0.1)})

    def forward(p, ids):
        rms = lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
        inv = theta ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
        cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
        rot = lambda x: torch.cat([-x[..., hs // 2:], x[..., :hs // 2]], -1)
        lin = lambda x, n: x @ p[n + ".weight"].T + (p[n + ".bias"] if n + ".bias" in p else 0)
        x = p["model.embed_tokens.weight"][ids]
        for i in range(2):
            h = f"model.layers.{i}."
            a = rms(x, p[h + "input_layernorm.weight"])
            q = lin(a, h + "self_attn.q_proj").view(B, T, nh, hs).transpose(1, 2)
            k = lin(a, h + "self_attn.k_proj").view(B, T, nkv, hs).transpose(1, 2)
            v = lin(a, h + "self_attn.v_proj").view(B, T, nkv, hs).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            x = x + lin(attention(q, k, v).transpose(1, 2).reshape(B, T, C), h + "self_attn.o_proj")
            m = rms(x, p[h + "post_attention_layernorm.weight"])
            x = x + lin(torch.nn.functional.silu(lin(m, h + "mlp.gate_proj")) * lin(m, h + "mlp.up_proj"), h + "mlp.down_proj")
        x = rms(x, p["model.norm.weight"])
        return x @ (p["model.embed_tokens.weight"] if qwen else p["lm_head.weight"]).T
    return cfg, p, forward

for name, (cfg, params, forward) in {"gpt2": gpt2(1), "llama": llama_like(2, False), "qwen2": llama_like(3, True)}.items():
    params = {k: v.to(torch.float32).to(torch.float64) for k, v in params.items()}  # exactly what the file stores
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    write_safetensors(os.path.join(d, "model.safetensors"), params)
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=g)
    targets[0, 3] = -100
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    logits = forward(leaves, ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), ignore_index=-100)
    loss.backward()
    ref = {"ids": ids.flatten().tolist(), "targets": targets.flatten().tolist(), "B": B, "T": T,
           "logits": logits.detach().flatten().tolist(), "loss": loss.item(),
           "grads": {k: v.grad.flatten().tolist() for k, v in leaves.items()}}
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump(ref, f)
    print("wrote", d, "loss", loss.item())

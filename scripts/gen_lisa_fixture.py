# Generates test/fixtures/lisa.json: per-step losses of a tiny Llama trained with torch AdamW while a fixed
# LISA schedule freezes blocks (requires_grad=False), in both state modes: 'reset' drops the AdamW state of
# blocks leaving the active set, 'keep' retains it. Float64. The model is written by hand (no transformers).
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_lisa_fixture.py
import json, os
import torch

torch.set_default_dtype(torch.float64)
from tiny_llama_ref import CFG, B, T, STEPS, PERIOD, SCHEDULE, LR, WD, BETAS, EPS, make_params, forward

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

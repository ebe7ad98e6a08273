# Generates test/fixtures/bf16.json: a tiny Llama trained with LISA under weightDtype bfloat16, exactly the
# scheme lisa-tune uses: every weight is rounded to bf16 (model.to(torch.bfloat16)); frozen weights are used as
# their bf16 value widened to fp32; a trainable tensor (embedding, final norm, head always; a block while
# active) trains an fp32 master made from its bf16 value with torch AdamW (fp32 grads and state); a block
# leaving the active set has its master rounded back to bf16 (round to nearest even) and dropped. Compute is
# float32. Both LISA state modes ('reset' pops the AdamW state of leaving blocks, 'keep' retains it).
# Also test/fixtures/autocast.json (its own file, to keep each fixture under 1 MB): the loss and every gradient of
# the fp32 tiny Llama on the first batch three ways: plain float32; under torch.autocast('cpu', dtype=torch.bfloat16)
# (attention's two products kept in fp32 as lisa-tune keeps them, the logits widened for the loss); and "emulated",
# lisa-tune's matmulPrecision bfloat16 semantics in float64 (every linear/head product on bf16-rounded operands,
# forward and both backward products).
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_bf16_fixture.py
import json, os
import numpy as np
import torch

torch.set_default_dtype(torch.float32)
from tiny_llama_ref import CFG, B, T, STEPS, PERIOD, SCHEDULE, LR, WD, BETAS, EPS, make_params, forward

def bits(t):
    """bfloat16 tensor -> its 16-bit patterns (bf16 widens exactly to the top half of a float32)."""
    return (t.float().numpy().view(np.uint32) >> 16).astype(np.int64).flatten().tolist()

def train(init, data, mode):
    block = lambda n: int(n.split(".")[2]) if n.startswith("model.layers.") else None
    rest = {k: v.to(torch.bfloat16) for k, v in init.items()}  # model.to(torch.bfloat16): RNE
    # One fp32 tensor per weight: the master while it trains, else its bf16 value widened (what the kernels read).
    p = {k: torch.nn.Parameter(v.float(), requires_grad=block(k) is None) for k, v in rest.items()}
    decay = [v for v in p.values() if v.dim() >= 2]
    nodecay = [v for v in p.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=EPS)
    active, losses = [], []
    for step in range(STEPS):
        if step % PERIOD == 0:
            nxt = SCHEDULE[(step // PERIOD) % len(SCHEDULE)]
            for n, v in p.items():
                b = block(n)
                if b is None:
                    continue
                if b in active and b not in nxt:  # leaves: master rounded back to bf16 and dropped
                    rest[n] = v.data.to(torch.bfloat16)
                    v.data = rest[n].float()
                    if mode == "reset":
                        opt.state.pop(v, None)
                if b in nxt and b not in active:  # enters: a master made from the bf16 value
                    v.data = rest[n].float()
                v.requires_grad_(b in nxt)
            active = nxt
        opt.zero_grad(set_to_none=True)
        ids, tgt = data[step]
        logits = forward(p, ids)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CFG["vocab"]), tgt.reshape(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    # Final state as lisa-tune holds it: trainable tensors' masters (fp32), the rest bf16.
    final = {n: (v.detach().flatten().tolist() if v.requires_grad else bits(rest[n])) for n, v in p.items()}
    return losses, final

def rbf(t):
    """t rounded to bfloat16 (round to nearest even) and back, in t's dtype."""
    return t.to(torch.float32).to(torch.bfloat16).to(t.dtype)

class Bf16Linear(torch.autograd.Function):
    """y = r(x) r(W)^T; dx = r(g) r(W); dW = r(g)^T r(x): both operands of each GEMM rounded to bfloat16."""
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return rbf(x) @ rbf(w).T
    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        g2, x2 = rbf(g).reshape(-1, g.shape[-1]), rbf(x).reshape(-1, x.shape[-1])
        return (rbf(g) @ rbf(w)), g2.T @ x2

def loss_and_grads(init, ids, tgt, mode):
    dt = torch.float64 if mode == "emulated" else torch.float32
    torch.set_default_dtype(dt)
    p = {k: torch.nn.Parameter(v.to(dt)) for k, v in init.items()}
    if mode == "emulated":  # every "h @ W.T" of the model through Bf16Linear (attention passes attn_mm)
        q = {k: _Lin(v) if v.dim() == 2 and k != "model.embed_tokens.weight" else v for k, v in p.items()}
        logits = forward(q, ids)
    elif mode == "autocast":
        def attn_fp32(a, b):
            with torch.autocast("cpu", enabled=False):
                return torch.matmul(a.float(), b.float())
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = forward(p, ids, attn_fp32)
        logits = logits.float()
    else:
        logits = forward(p, ids)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, CFG["vocab"]), tgt.reshape(-1))
    loss.backward()
    torch.set_default_dtype(torch.float32)
    return {"loss": loss.item(), "grads": {k: v.grad.flatten().tolist() for k, v in p.items()}}

class _Lin:
    """A weight whose ".T" product "h @ W.T" goes through Bf16Linear (forward() writes every linear that way)."""
    def __init__(self, w):
        self.w = w
    @property
    def T(self):
        return _LinT(self.w)

class _LinT:
    def __init__(self, w):
        self.w = w
    def __rmatmul__(self, x):
        return Bf16Linear.apply(x, self.w)

init = make_params(1)
g = torch.Generator().manual_seed(2)
data = []
for step in range(STEPS):
    ids = torch.randint(0, CFG["vocab"], (B, T + 1), generator=g)
    data.append((ids[:, :-1].contiguous(), ids[:, 1:].contiguous()))
# Known bit patterns for round-to-nearest-even: ties to even (down and up), just above a tie, Inf, -0, the
# largest float32 (rounds to Inf), subnormal ties, and NaNs (quiet, sign kept).
patterns = [0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0x3f80ffff, 0x7f800000, 0xff800000, 0x80000000,
            0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0x00008000, 0x00018000, 0x00000001, 0x7fc00000, 0xffc00001]
pat_in = torch.from_numpy(np.array(patterns, dtype=np.uint32).view(np.float32))
reset_losses, reset_final = train(init, data, "reset")
keep_losses, keep_final = train(init, data, "keep")
out = {
    "config": {"model_type": "llama", "vocab_size": CFG["vocab"], "hidden_size": CFG["C"], "intermediate_size": CFG["inter"],
               "num_hidden_layers": CFG["L"], "num_attention_heads": CFG["nh"], "num_key_value_heads": CFG["nkv"],
               "rms_norm_eps": CFG["eps"], "rope_theta": CFG["theta"], "max_position_embeddings": 64, "tie_word_embeddings": False},
    "B": B, "T": T, "period": PERIOD, "schedule": SCHEDULE, "lr": LR, "weightDecay": WD, "betas": list(BETAS), "eps": EPS,
    "init": {k: v.flatten().tolist() for k, v in init.items()},
    "initBf16": {k: bits(v.to(torch.bfloat16)) for k, v in init.items()},
    "rounding": {"in": patterns, "out": [b & 0xffff for b in bits(pat_in.to(torch.bfloat16))]},
    "data": [{"ids": i.flatten().tolist(), "targets": t.flatten().tolist()} for i, t in data],
    "losses": {"reset": reset_losses, "keep": keep_losses},
    "final": {"reset": reset_final, "keep": keep_final},
}
autocast = {m: loss_and_grads(init, data[0][0], data[0][1], m) for m in ("float32", "autocast", "emulated")}
fixtures = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
for name, value in (("bf16.json", out), ("autocast.json", autocast)):
    with open(os.path.join(fixtures, name), "w") as f:
        json.dump(value, f)
print("wrote", fixtures, out["losses"], [hex(x) for x in out["rounding"]["out"]],
      {m: v["loss"] for m, v in autocast.items()})

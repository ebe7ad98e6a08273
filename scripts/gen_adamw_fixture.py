# Generates test/fixtures/adamw.json: 20 steps of torch.optim.AdamW (float64) with weight decay on matrices
# only, and a linear-warmup + cosine LambdaLR schedule, on the loss sum(w * (p - target)^2).
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_adamw_fixture.py
import json, math, os
import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
W = torch.nn.Parameter(torch.randn(3, 4))
b = torch.nn.Parameter(torch.randn(4))
tW, tb = torch.randn(3, 4), torch.randn(4)
wW, wb = torch.rand(3, 4) + 0.5, torch.rand(4) + 0.5
init = {"W": W.detach().flatten().tolist(), "b": b.detach().flatten().tolist()}
lr, warmup, total = 0.05, 3, 20

def lam(step):
    if step < warmup:
        return step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))

opt = torch.optim.AdamW([{"params": [W], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=lr, betas=(0.9, 0.95), eps=1e-8)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
steps = []
for step in range(total):
    opt.zero_grad()
    loss = (wW * (W - tW) ** 2).sum() + (wb * (b - tb) ** 2).sum()
    loss.backward()
    used_lr = opt.param_groups[0]["lr"]
    opt.step()
    sched.step()
    steps.append({"loss": loss.item(), "lr": used_lr, "W": W.detach().flatten().tolist(), "b": b.detach().flatten().tolist()})

out = {"lr": lr, "warmup": warmup, "total": total, "betas": [0.9, 0.95], "eps": 1e-8, "weightDecay": 0.1,
       "init": init, "target": {"W": tW.flatten().tolist(), "b": tb.flatten().tolist()},
       "weight": {"W": wW.flatten().tolist(), "b": wb.flatten().tolist()}, "steps": steps}
path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "adamw.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)

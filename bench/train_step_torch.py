# PyTorch side of bench/train-step.ts: times forward + backward + AdamW of a GPT-2-shaped model written by
# hand (no transformers here), float32, on the given threads. Prints JSON: median seconds per step.
import json, math, sys, time
import torch

L, C, nh, V, T, B, steps, threads = map(int, sys.argv[1:9])
torch.set_num_threads(threads)
torch.manual_seed(0)
P = lambda *s: torch.nn.Parameter(torch.randn(*s) * 0.02)
wte, wpe = P(V, C), P(1024, C)
blocks = [dict(l1w=P(C), l1b=P(C), attn=P(C, 3 * C), attnb=P(3 * C), proj=P(C, C), projb=P(C), l2w=P(C), l2b=P(C),
               fc=P(C, 4 * C), fcb=P(4 * C), fc2=P(4 * C, C), fc2b=P(C)) for _ in range(L)]
lnfw, lnfb = P(C), P(C)
params = [wte, wpe, lnfw, lnfb] + [p for b in blocks for p in b.values()]
opt = torch.optim.AdamW(params, lr=1e-4)
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
gelu = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
ids = torch.randint(0, V, (B, T))

def step():
    x = wte[ids] + wpe[:T]
    for b in blocks:
        h = torch.nn.functional.layer_norm(x, (C,), b["l1w"], b["l1b"])
        q, k, v = (h @ b["attn"] + b["attnb"]).split(C, -1)
        q, k, v = [t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v)]
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(C // nh)).masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + a.transpose(1, 2).reshape(B, T, C) @ b["proj"] + b["projb"]
        h = torch.nn.functional.layer_norm(x, (C,), b["l2w"], b["l2b"])
        x = x + gelu(h @ b["fc"] + b["fcb"]) @ b["fc2"] + b["fc2b"]
    logits = torch.nn.functional.layer_norm(x, (C,), lnfw, lnfb) @ wte.T
    loss = torch.nn.functional.cross_entropy(logits.view(-1, V), ids.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()

step()
times = []
for _ in range(steps):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
print(json.dumps({"seconds": sorted(times)[len(times) // 2]}))

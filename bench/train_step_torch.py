# PyTorch side of bench/step.ts (and bench/train-step.ts): times optimizer steps (forward + backward + clip +
# AdamW) of a GPT-2- or Llama-shaped model written in plain torch (no transformers here), float32, with the same
# frozen/trainable structure as lisa-tune's full, LoRA (PEFT semantics, all-linear) and LISA (always-trained
# embeddings/norm/head, gamma blocks, AdamW state reset on a switch) methods.
# Usage: train_step_torch.py JSON, JSON = {"family": "gpt2"|"llama", shape keys, "method", "rank", "gamma",
#   "T", "B", "steps", "threads"}; or the old positional form L C nh V T B steps threads (GPT-2, full).
# Prints JSON: {"seconds": [per timed step], "maxrss_kb": peak RSS}.
import json, math, resource, sys, time
import torch
import torch.nn.functional as F

if len(sys.argv) == 9:
    L, C, nh, V, T, B, steps, threads = map(int, sys.argv[1:9])
    cfg = dict(family="gpt2", L=L, C=C, nh=nh, V=V, T=T, B=B, steps=steps, threads=threads, method="full")
else:
    cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
torch.manual_seed(0)
T, B, method = cfg["T"], cfg["B"], cfg["method"]
rank, gamma = cfg.get("rank", 128), cfg.get("gamma", 2)
P = lambda *s: torch.nn.Parameter(torch.randn(*s) * 0.02)
ones = lambda n: torch.nn.Parameter(torch.ones(n))
zeros = lambda n: torch.nn.Parameter(torch.zeros(n))
lora = []  # every (A, B) pair
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)


def attend(q, k, v):
    """Causal softmax(q k^T / sqrt(hs)) v (torch 1.13 has no scaled_dot_product_attention)."""
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    return s.masked_fill(mask, float("-inf")).softmax(-1) @ v


class Lin:
    """x @ W (+ b), W stored (in, out); with LoRA, + (alpha/r) * x A^T B^T, A (r, in) kaiming-uniform, B (out, r) zero."""
    def __init__(self, i, o, bias):
        self.w, self.b = P(i, o), (zeros(o) if bias else None)
        self.ab = None
        if method == "lora":
            bound = 1 / math.sqrt(i)
            self.ab = (torch.nn.Parameter(torch.empty(rank, i).uniform_(-bound, bound)), torch.nn.Parameter(torch.zeros(o, rank)))
            lora.append(self.ab)

    def params(self):
        return [self.w] + ([self.b] if self.b is not None else [])

    def __call__(self, x):
        y = x @ self.w
        if self.b is not None:
            y = y + self.b
        if self.ab is not None:
            y = y + (x @ self.ab[0].T @ self.ab[1].T) * 2.0  # alpha = 2 r
        return y


if cfg["family"] == "gpt2":
    C, nh, V, nL = cfg["C"], cfg["nh"], cfg["V"], cfg["L"]
    wte, wpe, lnf = P(V, C), P(1024, C), (ones(C), zeros(C))
    blocks = [dict(ln1=(ones(C), zeros(C)), attn=Lin(C, 3 * C, True), proj=Lin(C, C, True), ln2=(ones(C), zeros(C)),
                   fc=Lin(C, 4 * C, True), fc2=Lin(4 * C, C, True)) for _ in range(nL)]
    nonblock = [wte, wpe, *lnf]
    head = wte  # tied
    gelu = lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    def block_params(b):
        return [*b["ln1"], *b["ln2"]] + [p for k in ("attn", "proj", "fc", "fc2") for p in b[k].params()]

    def hidden(ids):
        x = wte[ids] + wpe[:T]
        for b in blocks:
            h = F.layer_norm(x, (C,), *b["ln1"])
            q, k, v = b["attn"](h).split(C, -1)
            q, k, v = [t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v)]
            a = attend(q, k, v)
            x = x + b["proj"](a.transpose(1, 2).reshape(B, T, C))
            x = x + b["fc2"](gelu(b["fc"](F.layer_norm(x, (C,), *b["ln2"]))))
        return F.layer_norm(x, (C,), *lnf)
else:
    C, nh, nkv, I, V, nL = cfg["C"], cfg["nh"], cfg["nkv"], cfg["I"], cfg["V"], cfg["L"]
    hs = C // nh
    wte, lnf, head = P(V, C), ones(C), P(C, V)
    nonblock = [wte, lnf, head]
    blocks = [dict(n1=ones(C), q=Lin(C, C, False), k=Lin(C, nkv * hs, False), v=Lin(C, nkv * hs, False), o=Lin(C, C, False),
                   n2=ones(C), gate=Lin(C, I, False), up=Lin(C, I, False), down=Lin(I, C, False)) for _ in range(nL)]
    inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
    ang = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    rms = lambda x, w: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w
    rot = lambda x: torch.cat([-x[..., hs // 2:], x[..., :hs // 2]], -1)

    def block_params(b):
        return [b["n1"], b["n2"]] + [p for k in ("q", "k", "v", "o", "gate", "up", "down") for p in b[k].params()]

    def hidden(ids):
        x = wte[ids]
        for b in blocks:
            h = rms(x, b["n1"])
            q = b["q"](h).view(B, T, nh, hs).transpose(1, 2)
            k = b["k"](h).view(B, T, nkv, hs).transpose(1, 2)
            v = b["v"](h).view(B, T, nkv, hs).transpose(1, 2)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(nh // nkv, 1), v.repeat_interleave(nh // nkv, 1)
            a = attend(q, k, v)
            x = x + b["o"](a.transpose(1, 2).reshape(B, T, C))
            h = rms(x, b["n2"])
            x = x + b["down"](F.silu(b["gate"](h)) * b["up"](h))
        return rms(x, lnf)

base = nonblock + [p for b in blocks for p in block_params(b)]
for p in base:
    p.requires_grad_(method == "full" or (method == "lisa" and any(p is q for q in nonblock)))
trainable = [p for ab in lora for p in ab] if method == "lora" else [p for p in base if p.requires_grad]
decay = lambda ps: [{"params": [p for p in ps if p.dim() >= 2], "weight_decay": 0.01},
                     {"params": [p for p in ps if p.dim() < 2], "weight_decay": 0.0}]
opt = torch.optim.AdamW(decay(trainable), lr=1e-4)
gen = torch.Generator().manual_seed(1)
active = []


def switch():
    """LISA: freeze the blocks leaving the active set (their AdamW state freed), unfreeze gamma new ones."""
    global active
    nxt = torch.randperm(len(blocks), generator=gen)[:gamma].tolist()
    for i in active:
        if i not in nxt:
            for p in block_params(blocks[i]):
                p.requires_grad_(False)
                p.grad = None
                opt.state.pop(p, None)
    for i in nxt:
        for p in block_params(blocks[i]):
            p.requires_grad_(True)
    active = nxt
    ps = nonblock + [p for i in active for p in block_params(blocks[i])]
    opt.param_groups = []
    for g in decay(ps):
        opt.add_param_group(g)
    return ps


ids = torch.randint(0, V, (B, T), generator=gen)
targets = torch.randint(0, V, (B * T,), generator=gen)
steps = cfg["steps"]


def step(i):
    params = trainable
    if method == "lisa" and i % steps == 0:  # step 0 (warm-up) and the last timed step switch
        params = switch()
    elif method == "lisa":
        params = nonblock + [p for j in active for p in block_params(blocks[j])]
    h = hidden(ids)
    logits = h @ (head.T if head is wte else head)
    loss = F.cross_entropy(logits.view(-1, V), targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


step(0)
times = []
for i in range(1, steps + 1):
    t = time.perf_counter()
    step(i)
    times.append(time.perf_counter() - t)
print(json.dumps({"seconds": times, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))

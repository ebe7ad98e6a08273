# Generates test/fixtures/stories260k.json: an independent float64 reference for stories260K.bin, written from
# llama2.c's run.c (legacy .bin layout, interleaved RoPE on pairs (2i, 2i+1), no weight permutation, GQA,
# RMSNorm eps 1e-5, SwiGLU, tied classifier). Stores the logits of a short fixed sequence and the greedy
# (argmax) continuation from BOS, stopping as run.c does when the model emits BOS (1) or EOS (2).
# Run with Debian's PyTorch: /usr/bin/python3 scripts/gen_stories_fixture.py [path/to/stories260K.bin]
import hashlib, json, math, os, struct, sys
import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "models", "stories260K", "stories260K.bin"))
OUT = os.path.normpath(os.path.join(HERE, "..", "test", "fixtures", "stories260k.json"))
LOGIT_IDS = [1, 70, 400, 259, 511, 3, 300, 123]  # a short fixed sequence (BOS, then arbitrary ids)
STEPS = 200
EPS = 1e-5


def read_checkpoint(path):
    raw = open(path, "rb").read()
    dim, hidden, L, nh, nkv, vocab, seq_len = struct.unpack("<7i", raw[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    data = torch.frombuffer(bytearray(raw[28:]), dtype=torch.float32).to(torch.float64)
    hs = dim // nh
    kv_dim = nkv * hs
    off = 0

    def take(*shape):
        nonlocal off
        n = math.prod(shape)
        t = data[off:off + n].reshape(*shape)
        off += n
        return t

    w = {}
    w["tok"] = take(vocab, dim)
    w["rms_att"] = take(L, dim)
    w["wq"] = take(L, dim, dim)
    w["wk"] = take(L, kv_dim, dim)
    w["wv"] = take(L, kv_dim, dim)
    w["wo"] = take(L, dim, dim)
    w["rms_ffn"] = take(L, dim)
    w["w1"] = take(L, hidden, dim)
    w["w2"] = take(L, dim, hidden)
    w["w3"] = take(L, hidden, dim)
    w["rms_final"] = take(dim)
    take(seq_len * hs // 2)  # freq_cis_real (run.c recomputes the angles)
    take(seq_len * hs // 2)  # freq_cis_imag
    w["wcls"] = w["tok"] if shared else take(vocab, dim)
    assert off == data.numel(), (off, data.numel())
    cfg = dict(dim=dim, hidden_dim=hidden, n_layers=L, n_heads=nh, n_kv_heads=nkv, vocab_size=vocab, seq_len=seq_len, shared_classifier=shared)
    return cfg, w


def rmsnorm(x, weight):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + EPS) * weight


def rope_interleaved(x, hs):
    # run.c: for i in 0..dim step 2: head_dim = i % head_size; freq = 1 / 10000^(head_dim / head_size);
    # (v0, v1) = (x[i], x[i+1]) rotated by pos * freq.
    T, D = x.shape
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    head_dim = torch.arange(0, D, 2) % hs
    freq = 1.0 / torch.pow(10000.0, head_dim.to(torch.float64) / hs)
    ang = pos * freq[None, :]  # (T, D/2)
    c, s = torch.cos(ang), torch.sin(ang)
    v0, v1 = x[:, 0::2], x[:, 1::2]
    out = torch.empty_like(x)
    out[:, 0::2] = v0 * c - v1 * s
    out[:, 1::2] = v0 * s + v1 * c
    return out


def forward(cfg, w, ids):
    """Logits (T, vocab) for the whole sequence (the same values run.c computes one position at a time)."""
    dim, nh, nkv = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
    hs = dim // nh
    T = len(ids)
    x = w["tok"][torch.tensor(ids)]  # (T, dim)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(cfg["n_layers"]):
        xb = rmsnorm(x, w["rms_att"][l])
        q = rope_interleaved(xb @ w["wq"][l].T, hs)  # (T, dim)
        k = rope_interleaved(xb @ w["wk"][l].T, hs)  # (T, kv_dim)
        v = xb @ w["wv"][l].T
        heads = []
        for h in range(nh):
            kvh = h // (nh // nkv)
            qh = q[:, h * hs:(h + 1) * hs]
            kh = k[:, kvh * hs:(kvh + 1) * hs]
            vh = v[:, kvh * hs:(kvh + 1) * hs]
            att = (qh @ kh.T) / math.sqrt(hs)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            heads.append(att @ vh)
        x = x + torch.cat(heads, -1) @ w["wo"][l].T
        xb = rmsnorm(x, w["rms_ffn"][l])
        hb = torch.nn.functional.silu(xb @ w["w1"][l].T) * (xb @ w["w3"][l].T)
        x = x + hb @ w["w2"][l].T
    x = rmsnorm(x, w["rms_final"])
    return x @ w["wcls"].T


def main():
    cfg, w = read_checkpoint(BIN)
    logits = forward(cfg, w, LOGIT_IDS)
    ids = [1]
    min_margin = float("inf")
    stop = "length"
    for _ in range(STEPS):
        last = forward(cfg, w, ids)[-1]
        top2 = torch.topk(last, 2).values
        min_margin = min(min_margin, float(top2[0] - top2[1]))
        nxt = int(torch.argmax(last))
        ids.append(nxt)
        if nxt in (1, 2):
            stop = "bos" if nxt == 1 else "eos"
            break
    fixture = {
        "source": "stories260K.bin",
        "sha256": hashlib.sha256(open(BIN, "rb").read()).hexdigest(),
        "generator": "scripts/gen_stories_fixture.py (PyTorch float64, llama2.c run.c forward)",
        "config": cfg,
        "logits": {"ids": LOGIT_IDS, "values": [[round(float(v), 6) for v in row] for row in logits]},
        "greedy": {"prompt": [1], "maxNewTokens": STEPS, "tokens": ids[1:], "stop": stop, "minTop2Margin": round(min_margin, 6)},
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(ids) - 1} greedy tokens (stop: {stop}), min top-2 margin {min_margin:.4f}")


if __name__ == "__main__":
    main()

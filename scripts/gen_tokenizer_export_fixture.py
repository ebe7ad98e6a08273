# Generates test/fixtures/tokenizer-export.json: the token ids that Hugging Face `tokenizers` (the Rust library
# behind transformers' fast tokenizers) gives with the tokenizer.json files our exports carry for each converted
# source kind, with the sha256 of each file, so a test can check that exports still write the same files.
# Needs `pip install tokenizers` and node: python3 scripts/gen_tokenizer_export_fixture.py
import hashlib, json, os, subprocess, sys, tempfile
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "tokenizer-export.json")
PROBE = 'Lily saw a big red ball! "Can I play?" she asked, 3 times.\n  Ünïcödé — 日本 🙂 tabs\tand  spaces; constructor toString __proto__'

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["npx", "tsx", os.path.join(HERE, "export-tokenizers.ts"), tmp, *sys.argv[1:]], cwd=ROOT, check=True)
    kinds = {}
    for kind in sorted(os.listdir(tmp)):
        path = os.path.join(tmp, kind, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        enc = tok.encode(PROBE)
        kinds[kind] = {
            "sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
            "ids": enc.ids,
            "idsNoSpecial": tok.encode(PROBE, add_special_tokens=False).ids,
            "decoded": tok.decode(enc.ids, skip_special_tokens=True),
        }
json.dump({"tokenizers": __import__("tokenizers").__version__, "probe": PROBE, "kinds": kinds}, open(OUT, "w"), indent=1, ensure_ascii=False)
print(f"wrote {OUT}")

"""Convert OpenAI CLIP's ``bpe_simple_vocab_16e6.txt.gz`` (MIT) into the vocab.json + merges.txt
that transformers' CLIPTokenizer.from_pretrained reads. Run once; the result is shipped in
modelhub/assets/clip-tokenizer/ so nothing is downloaded at run time:

    python -m modelhub.assets.convert_clip_bpe path/to/bpe_simple_vocab_16e6.txt.gz
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "clip-tokenizer"


def bytes_to_unicode() -> dict[int, str]:
    """The reversible byte -> printable character table CLIP's BPE is defined over."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def convert(bpe_path: Path, out_dir: Path = OUT_DIR) -> int:
    with gzip.open(bpe_path) as fh:
        lines = fh.read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(merge) for merge in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(
        json.dumps({token: i for i, token in enumerate(vocab)}, ensure_ascii=False)
    )
    (out_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    )
    return len(vocab)


if __name__ == "__main__":
    print(convert(Path(sys.argv[1])))

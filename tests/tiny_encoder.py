"""A sentence-transformers model folder built locally, with no download: a trained tokenizer and a
BERT encoder with seeded random weights.

Used where a real multilingual model cannot be had on this machine: the end-to-end test of a
non-MiniLM embedding model that reads Chinese (``tests/test_multilingual_embedder.py``) and the
cost benchmark of a model with a real multilingual model's architecture (``bench/multilingual.py``).
The weights are random, so the vectors carry no meaning beyond "similar token bags are close";
what the folder does prove is that every file and code path a real model folder goes through works.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass(frozen=True)
class Shape:
    """The encoder's architecture (the bundled MiniLM: 6 layers, hidden 384, 30,522 tokens)."""

    hidden: int = 256
    layers: int = 2
    heads: int = 4
    intermediate: int = 512
    max_tokens: int = 200  # sentence-transformers' max_seq_length
    positions: int = 512
    vocab: int = 4000  # tokens the trained tokenizer may learn (a minimum for ``pad_vocab``)
    pad_vocab: int = 0  # when set, the vocabulary is padded with unused tokens to this size


def train_tokenizer(texts: Iterable[str], shape: Shape) -> object:
    """A BERT WordPiece tokenizer trained on ``texts``: CJK characters become tokens of their own
    (BertNormalizer splits them apart), so text in ``texts``' scripts is read, not [UNK]."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = WordPieceTrainer(vocab_size=shape.vocab, special_tokens=SPECIALS, min_frequency=1)
    tok.train_from_iterator(list(texts), trainer)
    vocab = tok.get_vocab()
    if shape.pad_vocab > len(vocab):  # rows of the embedding table no text reaches
        have = len(vocab)
        vocab.update({f"[unused{i}]": have + i for i in range(shape.pad_vocab - have)})
        tok.model = models.WordPiece(vocab, unk_token="[UNK]")
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return tok


def build_folder(folder: Path, texts: Iterable[str], shape: Shape = Shape(), seed: int = 0) -> Path:
    """Write a complete sentence-transformers folder (BERT + mean pooling + normalisation) to
    ``folder``: modules.json, sentence_bert_config.json, config.json, model.safetensors, the
    tokenizer files and 1_Pooling/. Seeded: the same texts and seed give the same weights."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    work = folder.parent / f".{folder.name}-parts"
    tokenizer = BertTokenizerFast(
        tokenizer_object=train_tokenizer(texts, shape),
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_max_length=shape.max_tokens,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=shape.positions,
    )
    BertModel(config).eval().save_pretrained(work)
    tokenizer.save_pretrained(work)
    transformer = Transformer(str(work), max_seq_length=shape.max_tokens)
    pooling = Pooling(shape.hidden, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(folder))
    for f in sorted(work.iterdir()):
        f.unlink()
    work.rmdir()
    info = {"built_by": "tests/tiny_encoder.py", "seed": seed, **shape.__dict__}
    (folder / "README.md").write_text(
        "Random-weight test model (no meaning in its vectors):\n"
        + json.dumps(info, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return folder

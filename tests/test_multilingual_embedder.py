"""Another sentence-transformers folder as the embedding model, one that reads Chinese, end to end.

No multilingual model's weights can be had on this machine, so the folder is built here
(``tests/tiny_encoder.py``): a WordPiece tokenizer trained on the library's English and
Chinese text (CJK characters are tokens, not [UNK]) and a 2-layer BERT of hidden size 256
(MiniLM: 6 layers, 384) with seeded random weights. Its vectors mean little; what is proven
is the path a real multilingual folder takes: `settings set embedding_model`, documents not
searchable until `reindex`, vectors of another dimension, the int8 export made on first use,
the gate asking to re-calibrate and then fitted, search and answers with citations in every
mode, Chinese questions ranked by their vectors too (the MiniLM-only rules keyed on the
tokenizer, not on the script), and the switch back to the bundled MiniLM.

One story (module fixture), several checks: 1-3 minutes on a busy 2-core machine with the
language model (six answers), so ``slow``.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pymupdf
import pytest

from kidneytalk.cli import main
from kidneytalk.config import Paths, Settings
from kidneytalk.embed import PROBE_SENTENCES
from kidneytalk.engine import Engine
from kidneytalk.errors import SettingsError
from kidneytalk.retrieval import hybrid, naive
from kidneytalk.retrieval.gate import offtopic_questions
from tests.fixtures_pdf import write_text_pdf
from tests.tiny_encoder import Shape, build_folder

LEAFLET = [  # Simplified and Traditional pages, long enough to be passages of their own
    "慢性肾脏病患者应定期监测血压和尿蛋白。成人慢性肾脏病患者的血压控制目标通常为收缩压低于一百三十毫米汞柱，"
    "如能耐受可更低。限制盐的摄入、规律运动和按时服药都有助于控制血压。",
    "透析病人應避免高鉀食物，例如香蕉、柳丁與楊桃；蔬菜宜先川燙再烹調，以減少鉀的攝取。"
    "血鉀過高可能引起心律不整，嚴重時會危及生命，需要立即就醫。",
    "贫血是慢性肾脏病常见的并发症。应先检查并纠正铁缺乏，再考虑使用促红细胞生成素治疗；"
    "治疗期间需要定期检查血红蛋白，避免升得过高。",
    "低血鉀的原因包括進食量太少、嚴重腹瀉或嘔吐，使鉀從腸胃道流失太多。"
    "長期低血鉀合併便秘，可能引起腸阻塞等併發症，請與醫師討論飲食與用藥。",
    "糖尿病肾病患者应控制血糖，糖化血红蛋白目标一般为百分之七左右，并注意低血糖的风险。"
    "二甲双胍在肾功能明显下降时需要减量或停用。",
    "腎臟移植後需要長期服用抗排斥藥物，並定期抽血檢查藥物濃度與腎功能，不可自行停藥。"
    "出現發燒、尿量減少或移植腎部位疼痛時，應盡快回診。",
]
EN_QUESTION = "What blood pressure target is suggested for adults with diabetic kidney disease?"
ZH_QUESTION = "慢性肾脏病患者的血压控制目标是多少？"  # Simplified; answered on the leaflet's page 1
SHAPE = Shape(hidden=256, layers=2, heads=4, intermediate=512, max_tokens=200)


def _leaflet(path: Path) -> Path:
    doc = pymupdf.open()
    for i, text in enumerate(LEAFLET):
        page = doc.new_page()
        font = "china-t" if i % 2 else "china-s"
        page.insert_textbox(pymupdf.Rect(72, 72, 520, 700), text, fontname=font, fontsize=12)
    doc.save(path)
    return path


def _cli(home: Path, *args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        assert main(["--home", str(home), *args]) == 0
    return out.getvalue()


def _ranked_docs(hits: list, doc: str) -> list[int]:
    return [i for i, h in enumerate(hits, 1) if h.doc_name == doc]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, embedder, llm):
    """Add an English guideline and a Chinese leaflet with MiniLM, switch to the built model
    (int8), re-index, calibrate, search and ask; then switch back to MiniLM and re-index."""
    tmp = tmp_path_factory.mktemp("multiling")
    home = tmp / "kt-home"
    docs = [
        write_text_pdf(tmp / "guideline-en.pdf", pages=4),
        _leaflet(tmp / "leaflet-zh.pdf"),
    ]
    corpus = [page.get_text() for path in docs for page in pymupdf.open(path)]
    corpus += [*offtopic_questions("fit"), *offtopic_questions("test"), *PROBE_SENTENCES]
    folder = build_folder(tmp / "tiny-zh-bert", [*corpus, EN_QUESTION, ZH_QUESTION], SHAPE)
    seen: dict = {"folder": folder, "minilm_unknown_zh": embedder.unknown_share(ZH_QUESTION)}

    with Engine(home, embedder=embedder, llm=llm) as eng:
        eng.add(docs)
        seen["minilm_id"] = eng.library.embed_model_id

    seen["settings_set"] = _cli(home, "settings", "set", "embedding_model", str(folder))
    _cli(home, "settings", "set", "embedding_precision", "int8")  # the AVX2-only path, any CPU
    seen["cli_search_before_reindex"] = _cli(home, "search", EN_QUESTION)
    seen["cli_ask_before_reindex"] = _cli(home, "ask", EN_QUESTION)  # refused: no model loaded
    with Engine(home, llm=llm) as eng:
        lib = eng.library
        seen["stale_before_reindex"] = [lib.is_stale(d) for d in lib.documents()]
        seen["search_before_reindex"] = eng.search(EN_QUESTION)
        eng.reindex()
        emb = lib.embedder
        seen["embedder"] = {
            "id": lib.embed_model_id,
            "precision": emb.precision,
            "dimension": emb.dimension,
            "max_tokens": emb.max_tokens,
            "export_dir": emb.export_dir,
            "unknown_zh": emb.unknown_share(ZH_QUESTION),
            "stored_dims": {len(v) for v in lib.embed(["a", "慢性"])},
        }
        seen["gate_before"] = eng.check_gate(EN_QUESTION)
        _, seen["calibration"] = eng.calibrate()
        seen["gate_zh"] = eng.check_gate(ZH_QUESTION)
        seen["reads_cjk"] = eng.gate.reads_cjk()
        seen["search"] = {q: eng.search(q) for q in (EN_QUESTION, ZH_QUESTION)}
        seen["hybrid_zh"] = hybrid.search(lib, ZH_QUESTION, k=6)
        seen["dense_zh"] = naive.search(lib, ZH_QUESTION, 3)
        answers = {}
        for mode in ("naive", "hybrid", "addrep"):
            for q in (EN_QUESTION, ZH_QUESTION):
                answer = eng.ask(q, mode=mode)
                answer.text()
                answers[mode, q] = answer
        seen["answers"] = answers

    _cli(home, "settings", "set", "embedding_model", "")
    with Engine(home, embedder=embedder, llm=llm) as eng:
        lib = eng.library
        seen["back_stale"] = [lib.is_stale(d) for d in lib.documents()]
        eng.reindex()
        seen["back_id"] = lib.embed_model_id
        seen["back_search"] = eng.search(EN_QUESTION)
        seen["back_gate_zh"] = eng.check_gate(ZH_QUESTION)
        seen["back_gate_en"] = eng.check_gate(EN_QUESTION)
    return seen


@pytest.mark.slow
def test_the_built_folder_is_a_sentence_transformers_folder_that_is_not_minilm(story):
    folder = story["folder"]
    for name in (
        "modules.json",
        "sentence_bert_config.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "1_Pooling/config.json",
    ):
        assert (folder / name).is_file(), name
    emb = story["embedder"]
    assert emb["id"] != story["minilm_id"] and emb["id"].startswith("tiny-zh-bert-")
    assert emb["dimension"] == 256 and emb["stored_dims"] == {256}
    assert emb["max_tokens"] == 200


@pytest.mark.slow
def test_switching_the_model_asks_for_a_reindex_then_searches_the_new_vectors(story):
    assert "kidneytalk reindex" in story["settings_set"]
    assert "kidneytalk calibrate" in story["settings_set"]
    stale = story["cli_search_before_reindex"]
    assert "2 document(s) were indexed with another embedding model" in stale
    assert "kidneytalk reindex" in stale
    assert "were indexed with another embedding model" in story["cli_ask_before_reindex"]
    assert story["stale_before_reindex"] == [True, True]
    assert story["search_before_reindex"] == []
    for q, hits in story["search"].items():
        assert hits, q
    assert _ranked_docs(story["search"][EN_QUESTION], "guideline-en.pdf")


@pytest.mark.slow
def test_the_int8_export_is_made_on_first_use_for_another_folder(story):
    emb = story["embedder"]
    assert emb["precision"] == "int8"
    export = emb["export_dir"]
    assert export is not None and export.name.startswith("tiny-zh-bert-")
    assert (export / "model_int8.onnx").is_file()


@pytest.mark.slow
def test_chinese_is_read_by_its_tokenizer_so_its_vector_ranks_chinese_questions(story):
    assert story["minilm_unknown_zh"] > hybrid.UNREADABLE  # MiniLM: mostly [UNK]
    assert story["embedder"]["unknown_zh"] == 0.0
    # hybrid fuses the vector ranking in for a readable question: a passage of the dense top 3
    # that BM25 does not find at all is still among the fused hits
    dense_ids = [h.chunk_id for h in story["dense_zh"]]
    fused_ids = [h.chunk_id for h in story["hybrid_zh"]]
    assert set(dense_ids) & set(fused_ids)
    assert _ranked_docs(story["hybrid_zh"], "leaflet-zh.pdf")[0] == 1


@pytest.mark.slow
def test_the_gate_asks_to_recalibrate_then_decides_chinese_with_the_embedding(story):
    assert "re-calibrate" in story["gate_before"].warning
    cal = story["calibration"]
    assert cal.embed_model == story["embedder"]["id"]
    assert cal.cjk_weight is None  # the model reads CJK: no words-only rule
    assert story["reads_cjk"] is True
    gate_zh = story["gate_zh"]
    assert gate_zh.warning == ""
    assert gate_zh.features["cjk"] == 0.0  # margin and words, like any question


@pytest.mark.slow
def test_answers_cite_the_library_in_every_mode(story):
    for (mode, q), answer in story["answers"].items():
        assert not answer.refused, (mode, q, answer.gate.reason if answer.gate else "")
        assert answer.citations, (mode, q, answer.text())
        docs = {c.source for c in answer.citations}
        assert docs <= {"guideline-en.pdf", "leaflet-zh.pdf"}, (mode, q, docs)


@pytest.mark.slow
def test_switching_back_to_the_bundled_minilm_reindexes_and_gates_as_before(story):
    assert story["back_stale"] == [True, True]
    assert story["back_id"] == story["minilm_id"]
    assert _ranked_docs(story["back_search"], "guideline-en.pdf")
    assert story["back_gate_en"].warning == ""  # the shipped calibration fits MiniLM again
    assert story["back_gate_zh"].features["cjk"] == 1.0  # MiniLM cannot read it: words alone


def test_a_folder_that_is_not_a_model_is_refused_when_set(tmp_path: Path):
    home = tmp_path / "kt-home"
    for wrong in (tmp_path / "missing", tmp_path):
        assert main(["--home", str(home), "settings", "set", "embedding_model", str(wrong)]) == 2
    assert Settings.load(Paths.resolve(home)).embedding_model == ""  # nothing saved
    with (
        Engine(home) as engine,  # the same verb the Settings page saves through
        pytest.raises(SettingsError, match="sentence-transformers model folder"),
    ):
        engine.save_settings(engine.settings.with_value("embedding_model", str(tmp_path)))
    assert Settings.load(Paths.resolve(home)).embedding_model == ""


@pytest.fixture(scope="module")
def prompted_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built folder whose config names a default prompt (as some multilingual models do)."""
    folder = build_folder(
        tmp_path_factory.mktemp("prompted") / "prompted-bert",
        [*LEAFLET, *PROBE_SENTENCES, *offtopic_questions("fit")],
        Shape(hidden=128, layers=2, heads=2, intermediate=256, max_tokens=128),
    )
    config = folder / "config_sentence_transformers.json"
    data = json.loads(config.read_text(encoding="utf-8"))
    data.update(prompts={"query": "Represent this clinical text for retrieval: "})
    data.update(default_prompt_name="query")
    config.write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_the_int8_path_adds_the_default_prompt_and_lets_the_fp32_weights_go(
    prompted_folder: Path, tmp_path: Path
):
    import numpy as np

    from kidneytalk.embed import Embedder

    texts = [LEAFLET[0], EN_QUESTION, "透析病人應避免高鉀食物"]
    fp32 = Embedder(prompted_folder, precision="fp32")
    int8 = Embedder(prompted_folder, precision="int8", cache_dir=tmp_path)
    assert int8.precision == "int8"
    weights = list(int8._model[0].auto_model.parameters())
    assert weights and all(w.device.type == "meta" for w in weights)
    want, got = fp32.embed(texts), int8.embed(texts)
    bare = fp32._model.encode(texts, prompt="", normalize_embeddings=True)
    with_prompt = (want * got).sum(axis=1)
    assert with_prompt.min() >= 0.99
    assert float(np.max((want * bare).sum(axis=1))) < with_prompt.min()  # the prompt counts

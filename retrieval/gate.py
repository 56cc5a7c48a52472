"""The relevance gate: does the library answer this question at all?

Retrieval always returns *something*, so every mode needs a decision before
an answer is written. The embedded 135M judge is near chance (AUC 0.54), so
the gate rests on measured retrieval signals instead:

* ``margin`` — the best cosine similarity of the question to any passage,
  minus the library's *background*: the mean best similarity that clearly
  off-topic questions (``data/offtopic-fit.txt``) reach in this same library.
  The background makes the number mean the same in a small sample library and
  in a large one (a bigger library is closer to everything).
* ``lexical`` — the share of the question's content words, weighted by their
  rarity in the library (BM25's idf from the FTS5 index), that occur in the
  best passages. Questions about a drug or a test the library never mentions
  score low even when their embedding lands near a passage on a related topic.
* ``soft`` — the same words matched in *meaning*: each token of the question's
  content words takes its closest token in a best passage, by the embedder's
  contextual token vectors, weighted by the token's idf (BERTScore's recall).
  A question that paraphrases its passage ("oral intake" for "feeding") scores
  here where ``lexical`` scores nothing, and its pooled cosine is blurred by
  the rest of the passage. Added 2026-12-06: on the PubMedQA test split the
  falsely refused in-library questions went from 4/72 to 2/72 (bf16; 3/72
  with the int8 embedder of an AVX2-only CPU) and the answered off-library
  ones from 3/78 to 1/78 (``bench/results/``).

Words that only name a library document ("the heart association fact sheet"),
words for a kind of document ("leaflet", 卫教单) and a question's numbers (the
asker's own values: "my bp is 126/78") are not looked for in its passages
(lexical, soft): no passage holds them.

A conversation's follow-up (:meth:`Gate.decide_follow_up`) is gated alone
first; when alone it is not covered, its own words are looked for in the
passages that it and the questions before it find together.

A logistic rule over these three features is fitted on data (``kidneytalk
calibrate``, :func:`fit`) and saved with the id of the embedding model it was
fitted for; the default for the bundled MiniLM ships in ``data/``. Questions
in several parts ("… and …?", "…? …?") are gated part by part, so an answer
can say which part the library does not cover.

Questions written mostly in Chinese (or another CJK script) are decided on
lexical evidence alone when the embedding model cannot read CJK (:meth:`Gate.reads_cjk`:
its tokenizer reads most of the bundled Chinese off-topic questions as unknown tokens):
the bundled MiniLM embedder is English-only, and its
cosine between any two CJK texts is high whatever they say (Chinese off-topic
questions reach the same margin as Chinese in-library ones), so the margin
carries no evidence there, and its nearest passages are arbitrary (they differ
between the bf16 and int8 embedders): their words are looked for in BM25's best
passages alone. Their ``lexical`` share counts CJK *bigrams* (not
single characters, which any Chinese text shares) and ignores question
phrases (下列, 哪一, 多久, …); a separate one-feature rule (``cjk_weight``,
``cjk_bias``) is fitted for it. Colloquial Chinese is mostly bigrams across word boundaries and
everyday words, which no passage holds (片做, 完多, 久可 in 腎臟切片做完多久可以吃東西), so a
second share, ``topical``, weighs each bigram by how specific the dictionary word it lies in is
in general text (:func:`term_weight`): 切片 fully, 可以 and 完多 not at all. Its one-feature rule
(``topical_weight``, ``topical_bias``) only turns refusals into answers, so, like the rule on
bridged words below, its boundary is raised above every off-topic question it was fitted on.

Questions in one language about documents in the other (an English question
on a Chinese leaflet, or the reverse) have no evidence the two features can
see: MiniLM cannot compare across languages and the question's own words do
not occur. In a library holding both languages, ``bridged`` counts the
question's words found in the best passages of the other language through the
dictionary bridge (:mod:`kidneytalk.retrieval.bridge`), each weighted by its
rarity in the library (idf, as a share of an unseen word's) and by how
*specific* its translation is in general text (jieba's word counts, not the
library): "mountain" found as 山 counts nothing, "dialysis" found as 透析
fully. A third one-feature rule (``cross_weight``, ``cross_bias``) is fitted on
it, and the gate answers when either rule does.

With a model that reads CJK (a multilingual sentence-transformers folder), CJK
questions go through the main rule like any other, and its background and
calibration include the Chinese off-topic questions.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kidneytalk.clean import CJK_CHARS
from kidneytalk.lexical import JOINERS, QUESTION_WORDS, STOPWORDS, found_terms, terms
from kidneytalk.retrieval.bridge import HAN_RUN, bigram_specificity, chinese_words
from kidneytalk.retrieval.hybrid import UNREADABLE

if TYPE_CHECKING:
    from kidneytalk.search import SearchIndex

DATA = Path(__file__).parent / "data"
DEFAULT_CALIBRATION = DATA / "gate-calibration.json"
CALIBRATION_FILE = "gate-calibration.json"  # in the user's config folder
FEATURES = ("margin", "lexical", "soft")
LEGACY_FEATURES = ("margin", "lexical")  # calibrations fitted before ``soft``; the fallback rule
TOPICAL_MARGIN = (
    0.01  # logit below 0 (P < 0.5) at the highest topical share of an off-topic fit question
)
L2, ITERATIONS = 0.001, 60  # the logistic fits' regularisation and Newton steps
CROSS_MARGIN = (
    0.01  # logit below 0 (P < 0.5) at the highest bridged value of an unanswerable fit question
)
UNSEEN = "zzqxjvkw"  # a term no passage holds: its idf is the library's largest
CALIBRATION_VERSION = 1
# What the features measure; a calibration fitted on older measures asks to be refitted.
# 1: until 2026-12-06. 2: a Chinese question's words are looked for in BM25's passages alone, and
# the dictionary bridge reads the medical supplement.
MEASURES = 2
TOP_PASSAGES = 3  # passages whose words count as lexical evidence
PROBE_DEPTH = 5
TOKEN_SAMPLE = 2000  # passages whose embedder tokens give the token idf of the ``soft`` feature
# Fallback rule when no calibration fits the embedding model: a conservative cosine margin
# and lexical share (refuses more rather than answering off-library questions).
FALLBACK_WEIGHTS, FALLBACK_BIAS = (10.0, 4.0), -6.5
_SPLIT = re.compile(
    r"(?<=[?？;；])\s*|\s+(?:and also|and|as well as)\s+(?=(?:what|how|which|when|why|who|is|are|"
    r"does|do|can|should)\b)",
    re.IGNORECASE,
)
MIN_PART_TERMS = 3
# Quoted text: '…' (an opening quote not after a letter, so "authors' view" is not one), "…", “…”, 「…」.
_QUOTED = re.compile(
    r"(?<!\w)'[^'\n]+'(?!\w)|\"[^\"\n]+\"|“[^”\n]+”|‘[^’\n]+’|「[^」\n]+」|『[^』\n]+』"
)
_SHIELDED = {"?": "\ue000", "？": "\ue001", ";": "\ue002", "；": "\ue003"}  # private-use stand-ins
_SHIELD = str.maketrans(_SHIELDED)
_UNSHIELD = str.maketrans({v: k for k, v in _SHIELDED.items()})
# Chinese question phrases (Simplified, as lexical terms are folded) that say nothing about the topic.
CJK_QUESTION_BIGRAMS = frozenset(
    """下列 列哪 哪一 一项 一种 一个 哪个 哪些 哪种 为何 什么 多少 多久 多长 怎么 如何 何种 何者 何时 是否 可以
    应该 原因 请问 为什 是哪 是什 有多 有哪 以下 之一""".split()
)
CJK_MAJORITY = 0.5  # share of a question's letters that must be CJK for the CJK rule


def offtopic_questions(which: str = "fit") -> list[str]:
    """The bundled off-topic questions (``fit``: for calibration; ``test``: held out)."""
    text = (DATA / f"offtopic-{which}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


_NUMBER = re.compile(r"[\d.,/:%-]+")  # 126/78, 52, 1,500, 3.5: a value, not a topic


def content_terms(question: str) -> list[str]:
    """Distinct topical terms of a question (stopwords, question words and numbers removed: a
    question's numbers are mostly the asker's own values, "my bp is 126/78", which no passage
    holds)."""
    out: list[str] = []
    for t in terms(question):
        if t in STOPWORDS or t in QUESTION_WORDS or t in out or (len(t) < 2 and t.isascii()):
            continue
        if _NUMBER.fullmatch(t):
            continue
        out.append(t)
    return out


def cjk_share(question: str) -> float:
    """Share of the question's letters (CJK characters and Latin letters/digits) that are CJK."""
    cjk = len(CJK_CHARS.findall(question))
    other = sum(1 for ch in question if ch.isascii() and ch.isalnum())
    return cjk / (cjk + other) if cjk + other else 0.0


def term_weight(term: str, bigrams: dict[str, float] | None) -> float:
    """What a question's term weighs in the ``topical`` share, beside its idf: 1, but for a Chinese
    bigram the specificity of the question's word it lies in (``bigrams``, from
    :func:`~kidneytalk.retrieval.bridge.bigram_specificity`): 0 for 之后 or 东西 (everyday words),
    1 for 切片 ("biopsy"), and 0 across two words (片做 in 切片做完). ``bigrams`` None (no word
    lists): 1."""
    if bigrams is None or len(term) != 2 or not HAN_RUN.fullmatch(term):
        return 1.0
    return bigrams.get(term, 0.0)


def _share(weights: dict[str, float], present: set[str]) -> float:
    """The weighted share of the terms in ``present`` (0 when nothing weighs)."""
    total = sum(weights.values())
    return sum(v for t, v in weights.items() if t in present) / total if total > 0 else 0.0


def lexical_terms(question: str) -> list[str]:
    """The terms whose presence counts as lexical evidence: content words, or for a CJK question its bigrams."""
    words = content_terms(question)
    if cjk_share(question) < CJK_MAJORITY:
        return words
    return [
        t
        for t in words
        if not (len(t) < 2 and CJK_CHARS.search(t)) and t not in CJK_QUESTION_BIGRAMS
    ]


def _shield_quotes(text: str) -> str:
    """``text`` with the "?" and ";" inside quotation marks replaced by private-use characters."""
    return _QUOTED.sub(lambda m: m.group(0).translate(_SHIELD), text)


def split_parts(question: str) -> list[str]:
    """Sub-questions of a question in several parts; ``[question]`` when it has one part.

    Splits after "?"/";" and before "and <question word>"; a part needs
    :data:`MIN_PART_TERMS` content words, so "A and B levels" is not cut. A
    quoted title ("the 'What Is High Blood Pressure?' chart") is not cut.
    """
    pieces = _SPLIT.split(_shield_quotes(question))
    parts = [p.strip(" ,").translate(_UNSHIELD) for p in pieces if p and p.strip(" ,?？;；")]
    parts = [p for p in parts if len(content_terms(p)) >= MIN_PART_TERMS]
    return parts if len(parts) > 1 else [question]


# ------------------------------------------------------------------ calibration
@dataclass(frozen=True)
class Calibration:
    """A fitted decision rule: P(answerable) = sigmoid(weights · features + bias)."""

    embed_model: str
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    features: tuple[str, ...] = FEATURES
    fitted_on: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # file it was read from ("" for a fresh fit or the fallback)
    # Lexical-only rule for CJK questions (the embedding margin carries no evidence there); None: main rule.
    cjk_weight: float | None = None
    cjk_bias: float | None = None
    # Rule on the specific words found through the dictionary bridge; None: not used.
    cross_weight: float | None = None
    cross_bias: float | None = None
    # Rule for CJK questions on their topical words (term_weight); None: not used.
    topical_weight: float | None = None
    topical_bias: float | None = None
    measures: int = MEASURES  # what its features measured when it was fitted

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.features):
            raise ValueError(
                f"a calibration needs one weight per feature: {len(self.weights)} weights for "
                f"{', '.join(self.features)}"
            )

    def probability(self, values: dict[str, float]) -> float:
        if values.get("cjk") and self.cjk_weight is not None and self.cjk_bias is not None:
            z = self.cjk_bias + self.cjk_weight * values["lexical"]
            if self.topical_weight is not None and self.topical_bias is not None:
                z = max(z, self.topical_bias + self.topical_weight * values.get("topical", 0.0))
        else:
            z = self.bias + sum(
                w * values[name] for w, name in zip(self.weights, self.features, strict=True)
            )
        if values.get("bridged") and self.cross_weight is not None and self.cross_bias is not None:
            z = max(z, self.cross_bias + self.cross_weight * values["bridged"])
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CALIBRATION_VERSION,
            "measures": self.measures,
            "embed_model": self.embed_model,
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
            **(
                {"cjk_weight": round(self.cjk_weight, 6), "cjk_bias": round(self.cjk_bias, 6)}
                if self.cjk_weight is not None and self.cjk_bias is not None
                else {}
            ),
            **(
                {
                    "cross_weight": round(self.cross_weight, 6),
                    "cross_bias": round(self.cross_bias, 6),
                }
                if self.cross_weight is not None and self.cross_bias is not None
                else {}
            ),
            **(
                {
                    "topical_weight": round(self.topical_weight, 6),
                    "topical_bias": round(self.topical_bias, 6),
                }
                if self.topical_weight is not None and self.topical_bias is not None
                else {}
            ),
            "fitted_on": self.fitted_on,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Calibration | None:
        """The calibration in ``path``; None when missing or unreadable."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                embed_model=str(raw["embed_model"]),
                weights=tuple(float(w) for w in raw["weights"]),
                bias=float(raw["bias"]),
                threshold=float(raw.get("threshold", 0.5)),
                features=tuple(raw.get("features", LEGACY_FEATURES)),
                fitted_on=dict(raw.get("fitted_on", {})),
                source=str(path),
                cjk_weight=float(raw["cjk_weight"]) if "cjk_weight" in raw else None,
                cjk_bias=float(raw["cjk_bias"]) if "cjk_bias" in raw else None,
                cross_weight=float(raw["cross_weight"]) if "cross_weight" in raw else None,
                cross_bias=float(raw["cross_bias"]) if "cross_bias" in raw else None,
                topical_weight=float(raw["topical_weight"]) if "topical_weight" in raw else None,
                topical_bias=float(raw["topical_bias"]) if "topical_bias" in raw else None,
                measures=int(raw.get("measures", 1)),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None


def find_calibration(embed_model: str, config_dir: Path | None) -> tuple[Calibration, str]:
    """The calibration for ``embed_model`` (user's first, then the shipped one) and a warning.

    Without one, a conservative fallback rule is used and the warning asks the
    user to run ``kidneytalk calibrate``; so does a calibration fitted on older
    :data:`MEASURES` (it is still used).
    """
    for path in ([config_dir / CALIBRATION_FILE] if config_dir else []) + [DEFAULT_CALIBRATION]:
        cal = Calibration.load(path)
        if (
            cal is not None
            and cal.embed_model == embed_model
            and set(cal.features) <= set(FEATURES)
        ):
            stale = (
                f"The relevance gate's calibration ({path}) was fitted before its measures "
                "changed: re-calibrate: run `kidneytalk calibrate` (until then it is used as it is)."
            )
            return _with_shipped_topical(cal), stale if cal.measures < MEASURES else ""
    warning = (
        f"The relevance gate is not calibrated for the embedding model {embed_model}: "
        "re-calibrate: run `kidneytalk calibrate` (until then a cautious rule is used)."
    )
    cal = Calibration(
        embed_model=embed_model,
        weights=FALLBACK_WEIGHTS,
        bias=FALLBACK_BIAS,
        features=LEGACY_FEATURES,
        fitted_on={"fallback": True},
        source="fallback",
    )
    return cal, warning


def _with_shipped_topical(cal: Calibration) -> Calibration:
    """``cal``, with the shipped rule on topical words when it has none and its CJK rule is the
    shipped one (``kidneytalk calibrate`` copies it for a library without Chinese; a calibration
    from before that rule existed has none)."""
    if cal.topical_weight is not None or cal.source == str(DEFAULT_CALIBRATION):
        return cal
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    if shipped is None or (cal.cjk_weight, cal.cjk_bias) != (shipped.cjk_weight, shipped.cjk_bias):
        return cal
    return dataclasses.replace(
        cal, topical_weight=shipped.topical_weight, topical_bias=shipped.topical_bias
    )


def _logistic(x: Any, labels: Sequence[int], l2: float, iterations: int) -> list[float]:
    """Class-balanced, L2-regularised logistic regression (Newton); the weights, then the bias."""
    import numpy as np

    y = np.array(labels, dtype=float)
    if len(set(labels)) < 2:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    weights = np.where(y == 1, len(y) / (2 * y.sum()), len(y) / (2 * (len(y) - y.sum())))
    xb = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xb.shape[1])
    reg = np.diag([l2] * x.shape[1] + [0.0]) * len(y)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(xb @ beta, -60, 60)))
        grad = xb.T @ (weights * (p - y)) + reg @ beta
        hess = (xb * (weights * p * (1 - p))[:, None]).T @ xb + reg + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return [float(b) for b in beta]


def fit(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    *,
    embed_model: str,
    fitted_on: dict[str, Any] | None = None,
    l2: float = L2,
    iterations: int = ITERATIONS,
    cjk_rows: Sequence[dict[str, float]] = (),
    cjk_labels: Sequence[int] = (),
    cross_rows: Sequence[dict[str, float]] = (),
    cross_labels: Sequence[int] = (),
    topical_rows: Sequence[dict[str, float]] = (),
    topical_labels: Sequence[int] = (),
    features: tuple[str, ...] = FEATURES,
) -> Calibration:
    """Class-balanced, lightly L2-regularised logistic regression by Newton's method.

    Balanced, so that a fit set with many more positives than negatives does
    not move the boundary towards answering everything; the L2 term keeps the
    weights finite when the fit set is separable. ``cjk_rows`` (CJK questions)
    fit the lexical-only rule for CJK questions, when given; ``topical_rows``
    (CJK questions) the rule on their topical words; ``cross_rows`` (questions
    in one language on documents in the other, against off-topic ones) the rule
    on the bridged words. ``features``: those of the main rule.
    """
    import numpy as np

    beta = _logistic(
        np.array([[r[name] for name in features] for r in rows], dtype=float),
        labels,
        l2,
        iterations,
    )
    cjk: list[float | None] = [None, None]
    if cjk_rows:
        cjk = list(
            _logistic(
                np.array([[r["lexical"]] for r in cjk_rows], dtype=float),
                cjk_labels,
                l2,
                iterations,
            )
        )
    cross = answering_rule(cross_rows, cross_labels, "bridged", CROSS_MARGIN, l2, iterations)
    topical = answering_rule(
        topical_rows, topical_labels, "topical", TOPICAL_MARGIN, l2, iterations
    )
    info = dict(fitted_on or {})
    info.update(
        n_answerable=int(sum(labels)),
        n_unanswerable=int(len(labels) - sum(labels)),
        date=_dt.date.today().isoformat(),
    )
    if cjk_rows:
        info.update(
            n_cjk_answerable=int(sum(cjk_labels)),
            n_cjk_unanswerable=int(len(cjk_labels) - sum(cjk_labels)),
        )
    if cross_rows:
        info.update(
            n_cross_answerable=int(sum(cross_labels)),
            n_cross_unanswerable=int(len(cross_labels) - sum(cross_labels)),
        )
    if topical_rows:
        info.update(
            n_topical_answerable=int(sum(topical_labels)),
            n_topical_unanswerable=int(len(topical_labels) - sum(topical_labels)),
        )
    return Calibration(
        embed_model=embed_model,
        weights=tuple(beta[:-1]),
        bias=beta[-1],
        features=tuple(features),
        fitted_on=info,
        cjk_weight=cjk[0],
        cjk_bias=cjk[1],
        cross_weight=cross[0],
        cross_bias=cross[1],
        topical_weight=topical[0],
        topical_bias=topical[1],
    )


def answering_rule(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    feature: str,
    margin: float,
    l2: float,
    iterations: int,
) -> list[float | None]:
    """(weight, bias) of a one-feature rule that only turns refusals into answers; [None, None]
    without rows, or when the feature does not rise with answerability (a weight of 0 would put
    every question at P = 0.5).

    Its boundary is raised above every unanswerable question it was fitted on, so the off-library
    rate stays that of the other rules on the fitting data.
    """
    import numpy as np

    if not rows:
        return [None, None]
    values = [r.get(feature, 0.0) for r in rows]
    weight, bias = _logistic(np.array([[v] for v in values]), labels, l2, iterations)
    if weight <= 0:
        return [None, None]
    highest = max((v for v, y in zip(values, labels, strict=True) if not y), default=0.0)
    return [weight, min(bias, -weight * highest - margin)]


# ------------------------------------------------------------------ measuring
@dataclass
class PartDecision:
    text: str
    answerable: bool
    probability: float
    features: dict[str, float]
    best: list[str] = field(default_factory=list)  # chunk ids of the closest passages
    missing_terms: list[str] = field(
        default_factory=list
    )  # content words absent from the best passages

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "answerable": self.answerable,
            "probability": round(self.probability, 4),
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "best": self.best,
            "missing_terms": self.missing_terms,
        }


@dataclass
class GateDecision:
    """What the gate decided, and why (shown in ``--trace`` and the evidence panel)."""

    answerable: bool
    probability: float
    threshold: float
    features: dict[str, float]
    background: float
    calibration: str
    embed_model: str
    parts: list[PartDecision] = field(default_factory=list)
    warning: str = ""
    # the conversation's questions a follow-up was read with (:meth:`Gate.decide_follow_up`)
    context: str = ""

    @property
    def uncovered(self) -> list[str]:
        """Parts of a multi-part question the library does not cover (when some part is covered)."""
        if not self.answerable or len(self.parts) < 2:
            return []
        return [p.text for p in self.parts if not p.answerable]

    @property
    def reason(self) -> str:
        f = self.features
        verdict = "answerable from the library" if self.answerable else "not covered by the library"
        words_alone = ""
        if f.get("cjk"):
            topical = f"; {f['topical']:.0%} of its topical words" if "topical" in f else ""
            words_alone = f" (a CJK question: decided on its words alone{topical})"
        read_with = " (read with the conversation's questions before it)" if self.context else ""
        return (
            f"{verdict}{read_with}: P = {self.probability:.2f} (threshold {self.threshold:.2f}); best similarity "
            f"{f.get('cosine', 0):.2f}, {f.get('margin', 0):+.2f} over this library's background "
            f"{self.background:.2f}; {f.get('lexical', 0):.0%} of the question's words (idf-weighted) "
            "in the best passages"
            + (
                f"; its words matched {f['soft']:.0%} in meaning"
                if "soft" in f and not f.get("cjk")
                else ""
            )
            + words_alone
            + (
                f"; {f['bridged']:.1f} specific words found in the other language's passages"
                if f.get("bridged")
                else ""
            )
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "answerable": self.answerable,
            "probability": round(self.probability, 4),
            "threshold": self.threshold,
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "background": round(self.background, 4),
            "calibration": self.calibration,
            "embed_model": self.embed_model,
            "reason": self.reason,
            "missing_terms": self.parts[0].missing_terms if len(self.parts) == 1 else [],
            "uncovered": self.uncovered,
            "parts": [p.to_json() for p in self.parts] if len(self.parts) > 1 else [],
            "warning": self.warning,
            "context": self.context,
        }


def _library_key(library: SearchIndex, doc_ids: Sequence[str]) -> str:
    """What a value measured over a library's searchable documents depends on."""
    return hashlib.sha256(
        (library.embed_model_id + "|" + ",".join(sorted(doc_ids))).encode()
    ).hexdigest()


class Gate:
    """Measures gate features against one library and applies a calibration.

    The library's background similarity is computed once per set of
    searchable documents (about a second with MiniLM) and kept.
    """

    def __init__(
        self,
        library: SearchIndex,
        calibration: Calibration | None = None,
        *,
        config_dir: Path | None = None,
    ):
        self.library = library
        self.config_dir = config_dir
        self._calibration = calibration
        self.warning = ""
        self._background: tuple[str, float] | None = None
        self._reads_cjk: tuple[str, bool] | None = None
        self._token_idf: tuple[str, dict[int, float], float] | None = None

    @property
    def calibration(self) -> Calibration:
        model = self.library.embed_model_id
        if self._calibration is None or self._calibration.embed_model != model:
            self._calibration, self.warning = find_calibration(model, self.config_dir)
        return self._calibration

    def reload(self) -> None:
        """Read the calibration file again (after ``kidneytalk calibrate``)."""
        self._calibration = None

    # ---------------------------------------------------------- features
    def reads_cjk(self) -> bool:
        """Whether the embedding model reads CJK text: under :data:`UNREADABLE` of the tokens of
        the bundled Chinese off-topic questions are unknown to its tokenizer (MiniLM: 72%)."""
        model = self.library.embed_model_id
        if self._reads_cjk is None or self._reads_cjk[0] != model:
            probes = [q for q in offtopic_questions("fit") if cjk_share(q) >= CJK_MAJORITY]
            self._reads_cjk = (model, self.library.unknown_share("\n".join(probes)) < UNREADABLE)
        return self._reads_cjk[1]

    def words_only(self, question: str) -> bool:
        """A CJK question the embedding model cannot read: decided on its words alone."""
        return cjk_share(question) >= CJK_MAJORITY and not self.reads_cjk()

    def background(self) -> float:
        """Mean best similarity of the bundled off-topic questions the embedder reads, in this
        library (0 when empty)."""
        lib = self.library
        with lib.reading():
            doc_ids = lib.searchable_doc_ids()
        key = _library_key(lib, doc_ids)
        if self._background is not None and self._background[0] == key:
            return self._background[1]
        value = 0.0
        if doc_ids:
            # The margin only decides questions the embedder reads: its background comes from those.
            probes = [q for q in offtopic_questions("fit") if not self.words_only(q)]
            vectors = lib.embed(probes)
            with lib.reading():
                best = [(lib.dense(v, 1, doc_ids) or [("", 0.0)])[0][1] for v in vectors]
            value = float(sum(best) / len(best))
        self._background = (key, value)
        return value

    def measure(
        self, question: str, *, context: str = ""
    ) -> tuple[dict[str, float], list[str], list[str]]:
        """(features, ids of the best passages, content words missing from them) for ``question``.

        With ``context`` (the earlier question of a conversation) the best passages and the
        similarity are those of the two questions together, and the words looked for in them are
        ``question``'s own.

        The words that only name a library document ("the heart association fact sheet":
        :func:`~kidneytalk.retrieval.sources.without_names`) are not looked for in its passages:
        the document's name is not in its text, and the library holds that document. Nor are the
        words for a kind of document ("leaflet", 卫教单: :data:`~kidneytalk.retrieval.sources.KIND_WORDS`).
        """
        from kidneytalk.retrieval import sources

        lib = self.library
        background = self.background()
        cjk = 1.0 if self.words_only(question) else 0.0
        with lib.reading():
            doc_ids = lib.searchable_doc_ids()
            topic = sources.without_names(
                question,
                lib.document_labels(doc_ids),
                lambda doc_id: lib.passage_texts([doc_id], sample=sources.TOPIC_SAMPLE),
            )
            stripped = sources.without_kind_words(topic)
            words = lexical_terms(stripped)
            if words:  # not when nothing else would be left
                topic = stripped
            else:
                words = lexical_terms(topic)
            if not doc_ids:
                empty = {"cosine": 0.0, "margin": -background, "lexical": 0.0, "soft": 0.0}
                empty["cjk"] = cjk
                return {**empty, **({"topical": 0.0} if cjk else {}), "bridged": 0.0}, [], words
            probe = f"{context.strip()} {question}".strip()
            vector = lib.embed_query(probe)
            dense = lib.dense(vector, PROBE_DEPTH, doc_ids)
            lexical = lib.lexical(probe, TOP_PASSAGES, doc_ids)
            # A question the embedder cannot read has arbitrary nearest passages, which differ
            # between its bf16 and int8 runs: its words are looked for in BM25's best alone.
            nearest = [] if cjk else [cid for cid, _ in dense[:TOP_PASSAGES]]
            best_ids = list(dict.fromkeys(nearest + [cid for cid, _ in lexical]))
            rows = lib.passages(best_ids)
            idf = lib.idf(words, doc_ids)
        cosine = dense[0][1] if dense else 0.0
        texts = [row.text for row in rows.values()]
        present = found_terms(words, texts)
        missing = [t for t in words if t not in present]
        features = {
            "cosine": cosine,
            "margin": cosine - background,
            "lexical": _share(idf, present),
            "soft": 0.0 if cjk else self.soft(topic, texts, doc_ids),
            "cjk": cjk,
            "bridged": self.bridged(question, doc_ids),
        }
        if cjk:  # decided on its words alone: its topical words too (none without the word lists)
            bigrams = bigram_specificity(topic)
            topical = {t: v * term_weight(t, bigrams) for t, v in idf.items()} if bigrams else {}
            features["topical"] = _share(topical, present)
        return features, best_ids, missing

    def soft(self, question: str, texts: Sequence[str], doc_ids: list[str]) -> float:
        """How closely the best of ``texts`` matches the question's content words in meaning, by
        the embedder's contextual token vectors (BERTScore's recall, with its idf weights).

        Each token of the question's content words (:func:`content_terms`) takes its highest
        cosine to any token of a passage; the tokens are weighted by their idf among the library's
        passages (:meth:`token_idf`) and the best passage's weighted mean counts. A paraphrase
        ("oral intake" for a passage on "feeding") scores some where the lexical share scores
        nothing; the pooled cosine (``margin``) blurs a question's rare words into its topic.
        """
        import numpy as np

        words = content_terms(question)
        if not words or not texts:
            return 0.0
        content = set(words)
        originals = [w for w in re.findall(r"[\w-]+", question) if w.lower() in content]
        lib = self.library
        # the tokens of its content words, but their hyphens and other marks (any passage has them)
        marks = [c for w in words for c in w if not c.isalnum()]
        wanted = {t for ids in lib.token_ids([*words, *originals]) for t in ids}
        wanted -= {t for ids in lib.token_ids(marks) for t in ids}
        idf, unseen = self.token_idf(doc_ids)
        (ids, vectors), *passages = lib.token_vectors([question, *texts])
        keep = [i for i, t in enumerate(ids) if t in wanted]
        if not keep:
            return 0.0
        weights = [idf.get(ids[i], unseen) for i in keep]
        total = sum(weights)
        w, q = np.asarray(weights, dtype=np.float32), vectors[keep]
        best = [float(w @ (q @ p.T).max(axis=1)) for _, p in passages if len(p)]
        return max(best, default=0.0) / total

    def token_idf(self, doc_ids: list[str]) -> tuple[dict[int, float], float]:
        """Idf of each embedder token among the passages of ``doc_ids`` (at most
        :data:`TOKEN_SAMPLE` of them, spread evenly; BM25's formula), and that of a token none
        holds; kept until the searchable documents change."""
        lib = self.library
        key = _library_key(lib, doc_ids)
        if self._token_idf is not None and self._token_idf[0] == key:
            return self._token_idf[1], self._token_idf[2]
        with lib.reading():
            texts = lib.passage_texts(doc_ids, sample=TOKEN_SAMPLE)
        counts: dict[int, int] = {}
        for ids in lib.token_ids(texts):
            for t in set(ids):
                counts[t] = counts.get(t, 0) + 1
        n = len(texts)
        # BM25's idf, above 0 even for a token every passage holds (a one-passage library)
        idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in counts.items()}
        unseen = math.log(1 + (n + 0.5) / 0.5)
        self._token_idf = (key, idf, unseen)
        return idf, unseen

    def bridged(self, question: str, doc_ids: list[str]) -> float:
        """Specific words of ``question`` found through the dictionary bridge (0 in a one-language library).

        Each word found, through a translation, in the best ``TOP_PASSAGES``
        passages of the other language counts its library idf as a share of
        an unseen word's, times its translation's specificity in general text
        (:meth:`Bridge.evidence <kidneytalk.retrieval.bridge.Bridge.evidence>`).
        """
        from kidneytalk.retrieval import bridge

        lib = self.library
        with lib.reading():
            if not bridge.other_script(lib, bridge.direction(question), doc_ids):
                return 0.0
            crossing = bridge.of(question)
            if crossing is None:
                return 0.0
            crossed = lib.lexical_any(crossing.search_terms, TOP_PASSAGES, doc_ids)
            rows = lib.passages([cid for cid, _ in crossed])
            weights = bridge.source_weights(lib, crossing.sources, doc_ids)
            unseen = lib.idf([UNSEEN], doc_ids).get(UNSEEN, 0.0)
        if unseen <= 0:
            return 0.0
        found = crossing.evidence([r.text for r in rows.values()], weights)
        return sum(found.values()) / unseen

    # ---------------------------------------------------------- decision
    def decide(self, question: str) -> GateDecision:
        """Gate ``question`` as a whole and, for a question in several parts, part by part."""
        whole = self._part(question)
        pieces = split_parts(question)
        decided = [self._part(piece) for piece in pieces] if len(pieces) > 1 else [whole]
        # A multi-part question is answered when the whole or any part is covered; the others are named.
        answerable = whole.answerable or any(part.answerable for part in decided)
        return self._decision(answerable, whole, decided)

    def decide_follow_up(self, question: str, previous: str) -> GateDecision:
        """Gate a conversation's follow-up, which alone may name no topic ("What did the
        ultrasound show after four days?"); ``previous``: the conversation's questions before it.

        Covered alone, it is answered. Otherwise it is read with ``previous``: the passages that
        the two find together must hold the follow-up's *own* words (by their idf and in
        meaning, as for any question), so an off-library follow-up ("What is the capital of
        Mongolia?") is not let through by the covered question before it. A follow-up in several
        parts is read part by part, and the parts not covered are named. A follow-up with no
        words of its own to look for ("Why?", 「為什麼？」) is the earlier question asked again.
        Refused both ways, the decision given (and its reason) is the one closer to answering.
        """
        alone = self.decide(question)
        previous = previous.strip()
        if alone.answerable or not previous or previous.casefold() == question.casefold():
            return alone
        if not lexical_terms(question):
            whole = self._part(f"{previous} {question}")
            decided = [whole]
        else:
            whole = self._part(question, context=previous)
            pieces = split_parts(question)
            decided = (
                [self._part(piece, context=previous) for piece in pieces]
                if len(pieces) > 1
                else [whole]
            )
        answerable = whole.answerable or any(part.answerable for part in decided)
        if not answerable and whole.probability <= alone.probability:
            return alone  # refused either way: the reason given is the closer call's
        return self._decision(answerable, whole, decided, context=previous)

    def _part(self, text: str, *, context: str = "") -> PartDecision:
        cal = self.calibration
        features, best, missing = self.measure(text, context=context)
        p = cal.probability(features)
        if "soft" not in cal.features:  # a calibration from before it: not given as a reason
            features.pop("soft", None)
        return PartDecision(text, p >= cal.threshold, p, features, best, missing)

    def _decision(
        self,
        answerable: bool,
        whole: PartDecision,
        parts: list[PartDecision],
        *,
        context: str = "",
    ) -> GateDecision:
        cal = self.calibration
        return GateDecision(
            answerable=answerable,
            probability=whole.probability,
            threshold=cal.threshold,
            features=whole.features,
            background=self._background[1] if self._background else 0.0,
            calibration=cal.source or "fitted",
            embed_model=cal.embed_model,
            parts=parts,
            warning=self.warning,
            context=context,
        )


# ------------------------------------------------------------------ calibrating on a library
def pseudo_questions(library: SearchIndex, n: int = 60, *, seed: int = 0) -> list[str]:
    """Questions the library surely answers, written from its own passages (no gold data needed).

    From ``n`` passages drawn at random (seeded), one informative sentence
    each, not in a CJK script (:func:`cjk_pseudo_questions` writes those); a
    random two thirds of its content words, in order, become a question ("What
    is known about …?"), so that it matches its passage as loosely as a user's
    wording would, not verbatim.
    """
    from kidneytalk.citations import split_sentences

    rng = random.Random(seed)
    texts = _shuffled_passages(library, rng)
    out: list[str] = []
    for text in texts:
        candidates = [
            words
            for s in split_sentences(text)
            if cjk_share(s) < 0.2 and len(words := _whole_terms(s)) >= 6
        ]
        if not candidates:
            continue
        words = rng.choice(candidates)
        out.append("What is known about " + " ".join(_some(words, rng, least=4)) + "?")
        if len(out) >= n:
            break
    return out


def _whole_terms(text: str) -> list[str]:
    """The content terms of ``text`` without the parts of its joined ones ("long-term", not
    "long-term term")."""
    out: list[str] = []
    for term in content_terms(text):
        if not any(term != whole and term in JOINERS.split(whole) for whole in out):
            out.append(term)
    return out


def _shuffled_passages(library: SearchIndex, rng: random.Random) -> list[str]:
    """The text of every searchable passage, in an order drawn from ``rng``."""
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not doc_ids:
            return []
        texts = library.passage_texts(doc_ids)
    rng.shuffle(texts)
    return texts


def cjk_pseudo_questions(library: SearchIndex, n: int = 40, *, seed: int = 0) -> list[str]:
    """CJK questions the library surely answers, from its CJK passages (no gold data needed).

    As :func:`pseudo_questions`: from a random CJK sentence of 12 or more CJK
    characters, a random two thirds of its characters (at most 24) in order,
    so that its bigrams match the passage only in part, as a user's wording would.
    """
    return _cjk_pseudo_questions(library, n, seed, _characters, 24)


def _characters(sentence: str) -> list[str]:
    """The CJK characters, letters and digits of ``sentence``."""
    return [c for c in sentence if c.isalnum()]


def _cjk_pseudo_questions(
    library: SearchIndex, n: int, seed: int, units: Callable[[str], list[str]], most: int
) -> list[str]:
    """From random CJK sentences of ``library``, a random two thirds of each one's ``units`` (at
    most ``most``) in order, as a question."""
    from kidneytalk.citations import split_sentences

    rng = random.Random(seed)
    texts = _shuffled_passages(library, rng)
    out: list[str] = []
    for text in texts:
        candidates = [
            s
            for s in split_sentences(text)
            if len(CJK_CHARS.findall(s)) >= 12 and cjk_share(s) >= 0.8
        ]
        if not candidates:
            continue
        parts = units(rng.choice(candidates))
        keep = sorted(rng.sample(range(len(parts)), (2 * len(parts)) // 3))[:most]
        if not keep:  # no unit (Korean text has no Chinese words)
            continue
        out.append("".join(parts[i] for i in keep) + "？")
        if len(out) >= n:
            break
    return out


def cjk_word_pseudo_questions(library: SearchIndex, n: int = 40, *, seed: int = 0) -> list[str]:
    """As :func:`cjk_pseudo_questions`, from a random two thirds of a sentence's words
    (:func:`~kidneytalk.retrieval.bridge.chinese_words`, at most 12) instead of its characters, so
    that the question's bigrams inside words are the sentence's, as a user's words would be."""
    return _cjk_pseudo_questions(library, n, seed, chinese_words, 12)


def cross_pseudo_questions(library: SearchIndex, n: int = 40, *, seed: int = 0) -> list[str]:
    """Questions in one language about the library's passages in the other, written with the dictionary.

    For a library holding English and Chinese text (else ``[]``): from random
    Chinese sentences (as :func:`cjk_pseudo_questions`), an English question of
    a random two thirds of their dictionary words' first translations; from
    random English sentences (as :func:`pseudo_questions`), a Chinese one
    likewise. Up to ``n`` of each, alternating.
    """
    from kidneytalk.citations import split_sentences
    from kidneytalk.lexical import fold
    from kidneytalk.retrieval import bridge

    book = bridge.dictionary()
    if book is None:
        return []
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not (library.holds_script("cjk", doc_ids) and library.holds_script("latin", doc_ids)):
            return []
    rng = random.Random(seed)
    english: list[str] = []
    chinese: list[str] = []
    for text in _shuffled_passages(library, rng):
        sentences = split_sentences(text)
        zh = [s for s in sentences if len(CJK_CHARS.findall(s)) >= 12 and cjk_share(s) >= 0.8]
        en = [s for s in sentences if cjk_share(s) < 0.2 and len(content_terms(s)) >= 6]
        if zh and len(english) < n:
            words = [
                w
                for run in bridge.CJK_RUN.findall(fold(rng.choice(zh)))
                for w in book.segment(run)
                if len(w) > 1 and w not in bridge.CJK_QUESTION_WORDS
            ]
            glosses = [g[0] for g in (book.to_english(w) for w in words) if g]
            if len(glosses) >= 4:
                english.append("What is known about " + " ".join(_some(glosses, rng)) + "?")
        if en and len(chinese) < n:
            parts = book.to_chinese(bridge.english_words(rng.choice(en)))
            targets = [t[0] for _, t in parts if t]
            if len(targets) >= 4:
                chinese.append("".join(_some(targets, rng)) + "是什么？")
        if len(english) >= n and len(chinese) >= n:
            break
    return [q for pair in zip(english, chinese, strict=False) for q in pair] + (
        english[len(chinese) :] + chinese[len(english) :]
    )


def _some(words: list[str], rng: random.Random, *, least: int = 3) -> list[str]:
    """A random two thirds of ``words`` (at least ``least``, at most 10), in order."""
    keep = sorted(rng.sample(range(len(words)), max(least, (2 * len(words)) // 3)))[:10]
    return [words[i] for i in keep]


def calibrate(gate: Gate, *, n: int = 60, seed: int = 0) -> Calibration:
    """Fit the gate's rule on ``gate.library``: its own pseudo-questions against the bundled off-topic ones."""
    positives = pseudo_questions(gate.library, n, seed=seed)
    if len(positives) < 5:
        from kidneytalk.errors import KidneyTalkError

        raise KidneyTalkError(
            "The library is too small to calibrate the relevance gate: add documents first."
        )
    measured: dict[str, dict[str, float]] = {}

    def measure(questions: list[str]) -> list[dict[str, float]]:
        for q in questions:
            if q not in measured:
                measured[q] = gate.measure(q)[0]
        return [measured[q] for q in questions]

    cjk_pos = cjk_pseudo_questions(gate.library, n, seed=seed)
    if gate.reads_cjk():  # CJK questions are decided like any other: one rule for all
        positives += cjk_pos
        cjk_pos = []
    negatives = [q for q in offtopic_questions("fit") if not gate.words_only(q)]
    rows = measure(positives + negatives)
    labels = [1] * len(positives) + [0] * len(negatives)
    # The CJK rule: fitted when the library has enough Chinese text, else the shipped one is kept.
    cjk_neg = [q for q in offtopic_questions("fit") if gate.words_only(q)]
    cjk_rows = measure(cjk_pos + cjk_neg) if len(cjk_pos) >= 5 else []
    # Its rule on topical words likewise, from questions written from the passages' words.
    topical_pos = cjk_word_pseudo_questions(gate.library, n, seed=seed) if cjk_rows else []
    topical_rows = measure(topical_pos + cjk_neg) if len(topical_pos) >= 5 else []
    # The rule on bridged words: fitted when the library holds both languages, else the shipped one is kept.
    cross_pos = cross_pseudo_questions(gate.library, n, seed=seed)
    cross_neg = offtopic_questions("fit")
    cross_rows = measure(cross_pos + cross_neg) if len(cross_pos) >= 10 else []
    with gate.library.reading():
        docs = len(gate.library.searchable_doc_ids())
    cal = fit(
        rows,
        labels,
        embed_model=gate.library.embed_model_id,
        cjk_rows=cjk_rows,
        cjk_labels=[1] * len(cjk_pos) + [0] * len(cjk_neg),
        cross_rows=cross_rows,
        cross_labels=[1] * len(cross_pos) + [0] * len(cross_neg),
        topical_rows=topical_rows,
        topical_labels=[1] * len(topical_pos) + [0] * len(cjk_neg),
        fitted_on={
            "how": "kidneytalk calibrate",
            "documents": docs,
            "data": f"{len(positives)} questions from the library's passages (seed {seed}) + "
            "offtopic-fit.txt",
        },
    )
    shipped = Calibration.load(DEFAULT_CALIBRATION)
    if (
        not cjk_rows
        and not gate.reads_cjk()
        and shipped is not None
        and shipped.cjk_weight is not None
    ):
        cal = dataclasses.replace(
            cal,
            cjk_weight=shipped.cjk_weight,
            cjk_bias=shipped.cjk_bias,
            topical_weight=shipped.topical_weight,
            topical_bias=shipped.topical_bias,
        )
    if not cross_rows and shipped is not None and shipped.cross_weight is not None:
        cal = dataclasses.replace(
            cal, cross_weight=shipped.cross_weight, cross_bias=shipped.cross_bias
        )
    return cal

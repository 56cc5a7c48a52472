"""Answer styles from "Copy-Paste to Mitigate LLM Hallucinations".

* ``off``       — an ordinary grounded answer with ``[n]`` citations (streamed).
* ``cp-order``  — the model picks the evidence sentences that answer the question
  and orders them; the answer *is* those sentences, copied verbatim with their
  citations. Selection is constrained by a GBNF grammar to valid sentence ids,
  so even a 135M model cannot paraphrase or invent.
* ``cp-link``   — cp-order, then a transition before each following sentence,
  which the model picks (grammar-constrained) from a closed list of linking
  words such as "In addition" or "However", or none.
* ``cp-refine`` — draft like ``off``; measure extractiveness and citation
  support; a reviewer prompt lists the uncopied sentences and asks for a
  copied revision; repeat up to N rounds or until a version has no unsupported
  sentence and reaches the coverage target; the most faithful version (fewest
  unsupported sentences, then highest coverage) is kept. When the model's own
  revisions fall short (a small model rarely copies on request), a last
  copy-edit applies the reviewer's feedback itself: each unsupported sentence
  is replaced by the evidence sentence closest to it, with its citation, or
  dropped when no evidence sentence is close.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kidneytalk.answer import format_context
from kidneytalk.bibliography import reference_text
from kidneytalk.citations import (
    DANGLING,
    LIST_ITEM,
    MARKER,
    content_tokens,
    split_sentences,
    support,
    verify,
)
from kidneytalk.clean import CJK_CHARS
from kidneytalk.errors import ContextOverflowError, KidneyTalkError
from kidneytalk.extractive import extractiveness
from kidneytalk.lexical import fold, tokenize
from kidneytalk.llm_base import LLM
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.retrieval.assemble import fit_to_budget
from kidneytalk.retrieval.bridge import (
    CJK_QUESTION_WORDS,
    chinese_words,
    specificity,
    word_counts,
    word_coverage,
)
from kidneytalk.retrieval.gate import CJK_MAJORITY, cjk_share
from kidneytalk.safety import looks_like_instruction, quotable
from kidneytalk.trace import Trace
from kidneytalk.vocabulary import STYLES

# cp-link's transitions: linking words only, so a transition can never add a clinical claim.
CONNECTIVES_EN = (
    "In addition",
    "Also",
    "However",
    "Therefore",
    "For example",
    "Similarly",
    "In particular",
)
CONNECTIVES_ZH = ("此外", "同时", "但是", "因此", "例如", "同样", "尤其是")
MAX_SELECTED = 4
MAX_LISTED = 24  # evidence sentences offered to the model for selection
# (queries, sentences) -> similarity of every query to every sentence, one row per query
Ranker = Callable[[list[str], list[str]], list[list[float]]]
MIN_SENTENCE_TOKENS = 4
# cp-refine's copy-edit: how close (cosine, or token support without an embedder) an evidence
# sentence must be to replace an unsupported draft sentence; farther ones are dropped.
COPY_EDIT_MIN_SIMILARITY = 0.5
# A copied sentence must answer the question. Cosine similarity alone does not tell: in the
# sample primer, "When should metformin be stopped in CKD?" is 0.58 similar to the metformin
# sentence and 0.53 to the CKD definition, which shares "chronic kidney disease" with the question.
# A sentence is relevant when it is about as close to the question as the closest evidence sentence
# (cosine within RELEVANT_MARGIN of it), or when it has the question's focus word (its content word
# rarest among the evidence sentences, the longer word on a tie: "metformin") and cosine at least
# RELEVANT_WITH_WORDS. Without an embedder the share of the question's content words stands
# in for the cosine.
RELEVANT_MARGIN = 0.04
RELEVANT_WITH_WORDS = 0.3
FOCUS_WORDS = 1
# OCR'd Chinese is not quoted when under this share of its Han characters form words of two or
# more (jieba's word list and CC-CEDICT), from MISREAD_MIN_CHARACTERS characters on: shorter text
# ("腎絲球過濾率", a word neither list has) cannot be told from a misreading. On realdocs-dev,
# text-layer Chinese sentences reach 0.52 at the least (0.57 at the 5th percentile); the 5 of 184
# OCR'd sentences under 0.35 are all misread ("冬内之动且仙静且区合成为姜管").
MISREAD_COVERAGE = 0.35
MISREAD_MIN_CHARACTERS = 8


def word_share(queries: list[str], texts: list[str]) -> list[list[float]]:
    """A :data:`Ranker` by words: the share of each query's content words (CJK: characters) in each text.

    Stands in for cosine similarity without an embedder, or for a question the
    embedder cannot read (Chinese for the bundled MiniLM). A Chinese question's
    characters weigh how specific they are in general text
    (:func:`character_weights`): 的 or 以 nothing, 抽 or 凝 fully, so that a
    sentence sharing only its everyday characters ties with none; and as rare as it
    is among ``texts`` (idf), so that the topic every evidence sentence shares (腎臟切片)
    does not outweigh what the question asks about it (躺, 下床). Characters, not
    words: 抗凝血 in the question still meets 抗凝劑 in a sentence.
    """
    # folded (one Chinese script), so that a question in Simplified meets a Traditional leaflet
    text_words = [{fold(w) for w in content_tokens(t)} for t in texts]
    out = []
    for q in queries:
        weights = dict.fromkeys((fold(w) for w in content_tokens(q)), 1.0)
        if chars := character_weights(q):  # 的, 以 or 有 say nothing; 抽 or 凝 do
            weights = {
                t: (chars.get(t, 0.0) if CJK_CHARS.match(t) else 1.0)
                # and a character every text has tells none of them apart
                * math.log((len(text_words) + 1) / (sum(t in tw for tw in text_words) + 0.5))
                for t in weights
            }
        total = sum(weights.values()) or 1.0
        out.append([sum(v for t, v in weights.items() if t in tw) / total for tw in text_words])
    return out


def character_weights(question: str) -> dict[str, float]:
    """What each (folded) Han character of a Chinese question weighs in :func:`word_share`: how
    specific it is in general text, or the word of the question it lies in, whichever is more
    (运 and 动 are everyday characters, 运动 "exercise" is a topic); nothing inside a question
    word (可以, 多久); ``{}`` for a question not mostly Chinese."""
    if cjk_share(question) < CJK_MAJORITY:
        return {}
    known = word_counts()
    out: dict[str, float] = {}
    for word in chinese_words(question):
        asks = word in CJK_QUESTION_WORDS
        whole = specificity(word) if len(word) > 1 and word in known and not asks else 0.0
        for ch in word:
            out[ch] = max(out.get(ch, 0.0), 0.0 if asks else max(whole, specificity(ch)))
    return out


@dataclass
class EvidenceSentence:
    sid: str  # "S3"
    n: int  # evidence number (1-based) for the [n] citation
    text: str


# Index lines are not statements: "Keywords: Humans; Female; ...", "MeSH terms: ...", "关键词：..."
_INDEX_LINE = re.compile(
    r"^\s*(key\s?words?|mesh(\s+terms|\s+headings)?|subject\s+headings|abbreviations|"
    r"关键词|关键字|主题词)\s*[:：]",
    re.IGNORECASE,
)


# Text about the document rather than about medicine: who wrote it and why, what it is not,
# licences and copyright, funding and author notes. A copy-paste answer never quotes it.
_META = re.compile(
    r"\bthis (?:summary|document|leaflet|booklet|brochure|primer|guide|sample|article|paper|poster|infographic|"
    r"pamphlet|handout|fact ?sheet|publication|report|material)\b"
    r"|\b(?:was|were|is|has been) (?:written|prepared|produced|developed|created|compiled|designed) "
    r"(?:for|by|as)\b"
    r"|\bnot (?:a|an|intended as a?|meant as a?|to be used as a?) (?:substitute for |replacement for )?"
    r"(?:(?:clinical|medical|professional|practice) )*(?:guidelines?|advice|diagnosis)"
    r"|\b(?:always )?consult (?:the current|your own)\b"
    r"|\b(?:licen[cs]e[ds]?|creative commons|copyright|all rights reserved|©|reproduced with permission|"
    r"disclaimer|competing interests?|conflicts? of interest|acknowledge?ments?|author(?:'s|s')? notes?|"
    r"corresponding author|funded by|ships with)\b"
    r"|本(?:著作|文件|单张|單張|手册|手冊)|著作權|著作权|版权所有|版權所有|免责声明|免責聲明",
    re.IGNORECASE,
)


# A bibliographic reference: a DOI, "(2022)．Title．" (APA style as Chinese leaflets print it),
# "10(4)，336-347" or "2010;21(3):123-9" (volume, issue, pages), or a references heading; not a
# study statistic such as "62 (12), 45–80 years".
_REFERENCE = re.compile(
    r"\bdoi\s*[:：]?\s*10\.\d{4,}/"
    r"|[(（]\d{4}[)）]\s*．[^．]+．"  # Author(2022)．Title．Journal (as Chinese leaflets print them)
    r"|\d+\s*[(（]\d{1,3}[)）]\s*，\s*\d+\s*[-–]\s*\d+"  # 10(4)，336-347
    r"|\b(?:19|20)\d{2}\s*;\s*\d+\s*\(\d{1,3}\)\s*:\s*\d+\s*[-–]\s*\d+"  # 2010;21(3):123-9
    r"|^\s*(?:references|bibliography|参考资料|參考資料|参考文献|參考文獻)\s*[:：]?\s*$",
    re.IGNORECASE,
)


def is_meta_text(sentence: str) -> bool:
    """True for sentences about the document itself (authorship, purpose, licence) and for
    bibliographic references: never an answer."""
    return bool(_META.search(sentence) or _REFERENCE.search(sentence))


def is_question(sentence: str) -> bool:
    """True for a question (a leaflet's "What should my blood pressure be?"): it asks, it never answers."""
    return sentence.rstrip(" \t\"'”’)]）」』").endswith(("?", "？"))


def is_index_line(sentence: str) -> bool:
    """True for keyword/heading lists, which a copy-paste answer should never quote."""
    if _INDEX_LINE.match(sentence):
        return True
    items = re.split(r"[;；]", sentence)
    return len(items) >= 4 and max(len(tokenize(i)) for i in items) <= 4  # a list of short terms


def misread(sentence: str) -> bool:
    """True for Chinese that OCR misread: mostly characters that form no word (see
    :func:`~kidneytalk.retrieval.bridge.word_coverage` and :data:`MISREAD_COVERAGE`)."""
    share, characters = word_coverage(sentence)
    return characters >= MISREAD_MIN_CHARACTERS and share < MISREAD_COVERAGE


_ENDED = re.compile(r"[.!?。！？；;:：)）\]」』”\"']\s*$")  # a sentence (or a lead-in) that ends
MAX_LEAD_TOKENS = 24  # a longer sentence ending in a colon is not a list's lead-in


def with_lead_ins(sentences: Sequence[str]) -> list[tuple[str, str]]:
    """(sentence, what is quoted of it) for each sentence that can be quoted.

    A list's lead-in ("A biopsy is advised when:", "Simple kidney cysts:", or a heading right
    above bulleted items) is never quoted alone: it says nothing by itself, and its items, quoted
    without it, say something else ("A mass is found in the kidney that could be malignant").
    Each item is quoted after its lead-in, without its bullet ("A biopsy is advised when: A mass
    is found …"); so is the one sentence after a lead-in whose items have no bullet. A bullet is
    taken off any other sentence too, and a sentence cut off on a word no sentence ends with
    (:data:`~kidneytalk.citations.DANGLING`, "… is not advised for") is not quoted.
    """
    out: list[tuple[str, str]] = []
    lead = ""
    follows_lead = False
    for i, sentence in enumerate(sentences):
        mark = LIST_ITEM.match(sentence)
        body = sentence[mark.end() :].strip() if mark else sentence.strip()
        if not body:  # a number alone ("2." split off its item)
            continue
        heading = (  # a heading (not a fragment a passage boundary cut) right above bullets
            not _ENDED.search(body)
            and not body[0].islower()
            and i + 1 < len(sentences)
            and bool(LIST_ITEM.match(sentences[i + 1]))
            and not mark
        )
        if body.endswith((":", "：")) or heading:
            lead = body if len(tokenize(body)) <= MAX_LEAD_TOKENS else ""
            if lead and heading:
                lead += "：" if CJK_CHARS.search(lead[-1]) else ":"
            follows_lead = True
            continue
        if DANGLING.search(body):
            follows_lead = False
            continue
        if lead and (mark or follows_lead):
            joiner = "" if lead.endswith("：") else " "
            out.append((sentence, lead + joiner + body))
        else:
            lead = ""
            out.append((sentence, body))
        follows_lead = False
    return out


def evidence_sentences(evidence: Sequence[Hit]) -> list[EvidenceSentence]:
    """The quotable sentences of the evidence, each once.

    Neighbouring passages overlap (chunk overlap), so the same sentence can
    come twice; it is listed once, under the first passage that has it. A
    sentence OCR read from a scanned page is not quoted when it reads as
    misread Chinese (:func:`misread`): the text layer is what a document says,
    a misread scan is not. Nor is a sentence of a reference list's entries
    (:func:`~kidneytalk.bibliography.reference_text`): a cited paper's title is
    not a finding of this document. A list's items are quoted after their
    lead-in (:func:`with_lead_ins`).
    """
    out: list[EvidenceSentence] = []
    seen: set[tuple[str, ...]] = set()
    for n, hit in enumerate(evidence, start=1):
        text = quotable(hit.text)
        references = [f" {' '.join(tokenize(entry))} " for entry in reference_text(text)]
        for raw, sentence in with_lead_ins(split_sentences(text)):
            key = tuple(tokenize(sentence))
            if (
                len(key) >= MIN_SENTENCE_TOKENS
                and key not in seen
                and not any(f" {' '.join(tokenize(raw))} " in entries for entries in references)
                and not looks_like_instruction(sentence)
                and not is_index_line(sentence)
                and not is_meta_text(sentence)
                and not is_question(sentence)
                and not (hit.ocr and misread(sentence))
            ):
                seen.add(key)
                out.append(EvidenceSentence(f"S{len(out) + 1}", n, sentence))
    return out


def check_style(style: str) -> str:
    if style not in STYLES:
        raise KidneyTalkError(
            f"Unknown answer style '{style}' (choose one of: {', '.join(STYLES)})."
        )
    return style


class Writer:
    """Produces the answer text for one style, as an iterator of pieces."""

    def __init__(
        self,
        llm: LLM,
        prompts: PromptBook,
        *,
        max_tokens: int,
        temperature: float,
        refusal: str,
        trace: Trace,
        cancel: threading.Event,
        refine_rounds: int = 2,
        refine_target: float = 0.8,
        rank: Ranker | None = None,
        topic: Callable[[str], str] | None = None,
        across: Callable[[str, list[str]], list[float] | None] | None = None,
    ):
        self.llm, self.prompts = llm, prompts
        self.max_tokens, self.temperature = max_tokens, temperature
        self.refusal, self.trace, self.cancel = refusal, trace, cancel
        self.refine_rounds, self.refine_target = refine_rounds, refine_target
        self.rank = rank
        # what evidence sentences are ranked against: the question, less words that only name a document
        self.topic = topic or (lambda question: question)
        # scores for a question and sentences in two languages (None: they share one)
        self.across = across

    # ------------------------------------------------------------ budget
    def answer_budget(self, wanted: int) -> int:
        """Tokens kept free for the answer: ``wanted``, but at most a quarter of a small context."""
        return max(16, min(wanted, self.llm.n_ctx // 4))

    def fit(
        self,
        evidence: Sequence[Hit],
        build: Callable[[list[Hit]], list[dict[str, str]]],
        answer_tokens: int,
    ) -> list[Hit]:
        budget = self.llm.n_ctx - answer_tokens
        return fit_to_budget(evidence, lambda hs: self.llm.count_messages(build(hs)), budget)

    # ------------------------------------------------------------ off
    def off_messages(self, question: str, evidence: Sequence[Hit]) -> list[dict[str, str]]:
        system = self.prompts.render("answer_system", refusal=self.refusal)
        user = self.prompts.render(
            "answer_user", context=format_context(evidence), question=question
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def off(self, question: str, evidence: list[Hit]) -> tuple[list[Hit], Iterator[str]]:
        used = self.fit(
            evidence,
            lambda hs: self.off_messages(question, hs),
            self.answer_budget(self.max_tokens),
        )
        if not used:
            raise ContextOverflowError(
                f"Model {self.llm.name}'s {self.llm.n_ctx}-token context cannot hold "
                "even one passage; choose a larger context length."
            )
        msgs = self.off_messages(question, used)
        return used, self.llm.stream(
            msgs, max_tokens=self.max_tokens, temperature=self.temperature, cancel=self.cancel
        )

    # ------------------------------------------------------------ cp-order / cp-link
    def select(self, question: str, used: list[Hit]) -> list[EvidenceSentence]:
        """The model's choice and order of evidence sentences (grammar: valid ids only).

        Sentences are listed most question-like first (``rank``), so a small
        model's bias towards the first items works for the answer, not against it.
        """
        sentences = self.listed_sentences(question, used)
        if not sentences:
            return []
        messages = self.select_messages(question, sentences)
        ids = " | ".join(f'"{s.sid}"' for s in sorted(sentences, key=lambda s: -len(s.sid)))
        grammar = f'root ::= id (", " id){{0,{MAX_SELECTED - 1}}}\nid ::= {ids}'
        with self.trace.step("select", sentences=len(sentences)) as step:
            raw = self.llm.continue_prompt(
                self.llm.format_prompt(messages),
                max_tokens=8 * MAX_SELECTED,
                stop=["\n"],
                grammar=grammar,
            )
            by_id = {s.sid: s for s in sentences}
            chosen: list[EvidenceSentence] = []
            for sid in re.findall(r"S\d+", raw):
                if sid in by_id and by_id[sid] not in chosen:
                    chosen.append(by_id[sid])
            step.outputs.update(raw=raw.strip(), chosen=[s.sid for s in chosen])
        return chosen

    # ------------------------------------------------------------ relevance
    def similarity(self, question: str, texts: Sequence[str]) -> list[float]:
        """Similarity of each text to the question (cosine, or content-word share without an embedder)."""
        if not texts:
            return []
        query = self.topic(question)
        plain = [MARKER.sub(" ", t) for t in texts]
        if self.across is not None:  # evidence in two languages: one scale for both
            shares = self.across(query, plain)
            if shares is not None:
                return shares
        if self.rank is not None:
            return [float(x) for x in self.rank([query], plain)[0]]
        return word_share([query], plain)[0]

    def relevant(
        self, question: str, texts: Sequence[str], pool: Sequence[str] = ()
    ) -> list[tuple[bool, float]]:
        """(answers the question?, similarity) for each text; see :data:`RELEVANT_MARGIN`.

        ``pool`` is the evidence the text is drawn from (default: ``texts``): the
        closest sentence and the question's rare words are measured in it.
        """
        pool = list(pool) or list(texts)
        focus = focus_stems(self.topic(question), pool)
        sims = self.similarity(question, list(texts) + [p for p in pool if p not in texts])
        best = max(sims) if sims else 0.0
        out = []
        for text, sim in zip(texts, sims, strict=False):
            has_focus = bool(focus & {_stem(t) for t in content_tokens(text)})
            # (a sentence that shares nothing with the question is not close to it, even when
            # no sentence is: then the gate's closest one stands alone, see keep_relevant)
            close = sim >= best - RELEVANT_MARGIN and sim > 0
            ok = close or (has_focus and sim >= RELEVANT_WITH_WORDS)
            out.append((ok and not is_meta_text(text), sim))
        return out

    def keep_relevant(
        self, question: str, chosen: Sequence[EvidenceSentence], listed: Sequence[EvidenceSentence]
    ) -> list[EvidenceSentence]:
        """The chosen sentences that answer the question, the most similar first.

        When the model chose none that does, the listed sentence closest to
        the question is used if it is relevant itself.
        """
        pool = [s.text for s in listed]
        verdicts = self.relevant(question, [c.text for c in chosen], pool)
        kept = [(c, sim) for c, (ok, sim) in zip(chosen, verdicts, strict=True) if ok]
        if not kept and listed:  # the listed sentence most like the question, if it passes
            first = self.relevant(question, [listed[0].text], pool)[0]
            if first[0]:
                kept = [(listed[0], first[1])]
        if (
            not kept and chosen
        ):  # the gate found the library covers the question: keep its closest sentence
            top = max(range(len(chosen)), key=lambda i: verdicts[i][1])
            kept = [(chosen[top], verdicts[top][1])]
        with self.trace.step(
            "relevance", margin=RELEVANT_MARGIN, with_words=RELEVANT_WITH_WORDS
        ) as step:
            step.outputs["chosen"] = [
                {"sid": c.sid, "similarity": round(sim, 3), "kept": ok}
                for c, (ok, sim) in zip(chosen, verdicts, strict=True)
            ]
        if len(kept) > 1:  # the most direct answer first, the rest in the model's order
            top = max(range(len(kept)), key=lambda i: kept[i][1])
            kept.insert(0, kept.pop(top))
        return [c for c, _ in kept]

    def relevant_text(self, question: str, text: str, used: Sequence[Hit]) -> str:
        """``text`` without sentences that do not answer the question, the most direct one first.

        Used on cp-refine's result; the whole text is kept when no sentence passes.
        """
        sentences = split_sentences(text)
        if len(sentences) < 1:
            return text
        verdicts = self.relevant(
            question, sentences, [e.text for e in evidence_sentences(used)] + sentences
        )
        kept = [(t, sim) for t, (ok, sim) in zip(sentences, verdicts, strict=True) if ok]
        with self.trace.step(
            "relevance", margin=RELEVANT_MARGIN, with_words=RELEVANT_WITH_WORDS
        ) as step:
            step.outputs["sentences"] = [
                {"text": t[:80], "similarity": round(sim, 3), "kept": ok}
                for t, (ok, sim) in zip(sentences, verdicts, strict=True)
            ]
        if not kept:
            return text
        top = max(range(len(kept)), key=lambda i: kept[i][1])
        kept.insert(0, kept.pop(top))
        return " ".join(t for t, _ in kept)

    def listed_sentences(self, question: str, used: Sequence[Hit]) -> list[EvidenceSentence]:
        sentences = evidence_sentences(used)
        if self.rank is not None and len(sentences) > 1:
            scores = self.similarity(question, [s.text for s in sentences])
            order = sorted(range(len(sentences)), key=lambda i: -scores[i])[:MAX_LISTED]
            sentences = [
                EvidenceSentence(f"S{j + 1}", sentences[i].n, sentences[i].text)
                for j, i in enumerate(order)
            ]
        return sentences[:MAX_LISTED]

    def select_messages(
        self, question: str, sentences: Sequence[EvidenceSentence]
    ) -> list[dict[str, str]]:
        listing = "\n".join(f"{s.sid}: {s.text}" for s in sentences)
        return [
            {
                "role": "user",
                "content": self.prompts.render("cp_order", question=question, sentences=listing),
            }
        ]

    def cp_order(
        self, question: str, evidence: list[Hit], *, link: bool = False
    ) -> tuple[list[Hit], Iterator[str]]:
        used = self.fit(
            evidence,
            lambda hs: self.select_messages(question, evidence_sentences(hs)[:MAX_LISTED]),
            48,
        )

        def pieces() -> Iterator[str]:
            chosen = self.keep_relevant(
                question, self.select(question, used), self.listed_sentences(question, used)
            )
            if not chosen:
                yield self.refusal
                return
            previous = ""
            for i, s in enumerate(chosen):
                if self.cancel.is_set():
                    return
                text = s.text
                if link and previous:
                    joint = self.transition(question, previous, text)
                    if joint:
                        sep = "，" if self.prompts.language == "zh" else ", "
                        text = f"{joint}{sep}{_lower_first(text)}"
                yield ("" if i == 0 else " ") + _with_marker(text, s.n)
                previous = s.text

        return used, pieces()

    def transition(self, question: str, previous: str, following: str) -> str:
        """A connective chosen by the model from a closed list (or none): links, never adds facts."""
        connectives = CONNECTIVES_ZH if self.prompts.language == "zh" else CONNECTIVES_EN
        prompt = self.prompts.render(
            "cp_link", question=question, previous=previous, next=following
        )
        options = " | ".join(f'"{c}"' for c in ("none", *connectives))
        raw = self.llm.continue_prompt(
            self.llm.format_prompt([{"role": "user", "content": prompt}]),
            max_tokens=8,
            stop=["\n"],
            grammar=f"root ::= {options}",
        )
        joint = raw.strip()
        return joint if joint in connectives else ""

    # ------------------------------------------------------------ cp-refine
    def cp_refine(self, question: str, evidence: list[Hit]) -> tuple[list[Hit], Iterator[str]]:
        used = self.fit(
            evidence,
            lambda hs: self.off_messages(question, hs),
            self.answer_budget(self.max_tokens * 2),
        )
        if not used:
            raise ContextOverflowError(
                f"Model {self.llm.name}'s {self.llm.n_ctx}-token context cannot hold "
                "even one passage; choose a larger context length."
            )

        def pieces() -> Iterator[str]:
            yield self.refine_loop(question, used)

        return used, pieces()

    def refine_loop(self, question: str, used: list[Hit]) -> str:
        """Draft, then revise with reviewer feedback; the most faithful version wins.

        A version is better with fewer unsupported sentences, then with higher
        coverage; revision stops once one has none and reaches the target.
        """
        sources = [h.text for h in used]

        def review(text: str) -> tuple[tuple[int, float], list[str]]:
            unsupported = [c.text for c in verify(text, used) if not c.supported]
            return (-len(unsupported), _coverage(text, sources)), unsupported

        def good(score: tuple[int, float]) -> bool:
            return score[0] == 0 and score[1] >= self.refine_target

        with self.trace.step("draft") as step:
            best = self.llm.complete(
                self.off_messages(question, used),
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                cancel=self.cancel,
            ).strip()
            best_score, unsupported = review(best)
            step.outputs.update(
                answer=best, coverage=round(best_score[1], 3), unsupported=len(unsupported)
            )
        draft = best
        for round_no in range(1, self.refine_rounds + 1):
            if good(best_score) or self.cancel.is_set() or draft.strip() == self.refusal:
                break
            prompt = self.prompts.render(
                "cp_refine",
                question=question,
                context=format_context(used),
                answer=draft,
                coverage=int(round(100 * _coverage(draft, sources))),
                unsupported=" | ".join(unsupported[:4]) or "(none)",
                refusal=self.refusal,
            )
            with self.trace.step("revise", round=round_no) as step:
                msgs = [{"role": "user", "content": prompt}]
                max_tokens = min(
                    self.max_tokens, self.llm.n_ctx - self.llm.count_messages(msgs) - 1
                )
                if max_tokens < 32:
                    step.outputs["stopped"] = "context full"
                    break
                draft = self.llm.complete(
                    msgs, max_tokens=max_tokens, temperature=self.temperature, cancel=self.cancel
                ).strip()
                score, unsupported = review(draft)
                step.outputs.update(
                    answer=draft, coverage=round(score[1], 3), unsupported=len(unsupported)
                )
                if draft and score > best_score:
                    best, best_score = draft, score
        if not good(best_score) and not self.cancel.is_set() and best.strip() != self.refusal:
            with self.trace.step("copy-edit") as step:
                edited = self.copy_edit(best, used)
                score, unsupported = review(edited) if edited else ((-99, 0.0), [])
                keep = bool(edited) and score > best_score
                step.outputs.update(
                    answer=edited,
                    coverage=round(score[1], 3),
                    unsupported=len(unsupported),
                    kept=keep,
                )
                if keep:
                    best = edited
        if not self.cancel.is_set() and best.strip() != self.refusal:
            best = self.relevant_text(question, best, used)
        return best  # when stopped: the best version so far

    def copy_edit(self, draft: str, used: Sequence[Hit]) -> str:
        """``draft`` with each unsupported sentence swapped for its closest evidence sentence (or dropped)."""
        candidates = evidence_sentences(used)
        checks = verify(draft, used)
        unsupported = [c.text for c in checks if not c.supported]
        if not candidates or not unsupported:
            scores: list[list[float]] = [[] for _ in unsupported]
        elif self.rank is not None:  # every sentence embedded once
            scores = self.rank(unsupported, [c.text for c in candidates])
        else:
            scores = [[support(c.text, u) for c in candidates] for u in unsupported]
        rows = iter(scores)
        out: list[str] = []
        taken: set[str] = set()
        for check in checks:
            if check.supported:
                out.append(check.text)
                continue
            row = next(rows)
            if not row:
                continue
            best_i = max(range(len(candidates)), key=lambda i: row[i])
            closest = candidates[best_i]
            if row[best_i] >= COPY_EDIT_MIN_SIMILARITY and closest.sid not in taken:
                taken.add(closest.sid)
                out.append(_with_marker(closest.text, closest.n))
        return " ".join(out)


def _stem(word: str) -> str:
    """A crude stem (first five letters) so "categories" meets "category" and "stopped" meets "stopping"."""
    return word[:5] if word.isascii() else word


def focus_stems(question: str, pool: Sequence[str], n: int = FOCUS_WORDS) -> set[str]:
    """Stems of the question's ``n`` content words rarest among ``pool`` (those that occur there at all).

    A Chinese question's characters that weigh nothing (:func:`character_weights`: 可 of 可以,
    的) are never its focus.
    """
    tokens = content_tokens(question)
    if chars := character_weights(question):
        tokens = [t for t in tokens if not CJK_CHARS.match(t) or chars.get(fold(t), 0.0) > 0]
    words = {_stem(t) for t in tokens}
    counts = {w: 0 for w in words}
    for text in pool:
        for w in words & {_stem(t) for t in content_tokens(text)}:
            counts[w] += 1
    present = sorted((c, -len(full), w) for full in tokens if (c := counts[w := _stem(full)]) > 0)
    return {w for _, _, w in present[:n]}


def _coverage(text: str, sources: list[str]) -> float:
    """Extractive coverage of an answer as ``Answer.extractiveness`` measures it (citation markers aside)."""
    return extractiveness(MARKER.sub(" ", text), sources).coverage


def _with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's final punctuation."""
    m = re.match(r"^(.*?)([.!?。！？；]*)$", sentence.strip(), flags=re.S)
    body, end = (m.group(1), m.group(2)) if m else (sentence, "")
    return f"{body} [{n}]{end or '.'}"


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text

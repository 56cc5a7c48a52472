"""Retrieval talks to the library only through kidneytalk.search.SearchIndex."""

from __future__ import annotations

import ast
from pathlib import Path

from kidneytalk.library import Library
from kidneytalk.search import SearchIndex

RETRIEVAL = Path(__file__).resolve().parents[1] / "retrieval"
# What a library owns and retrieval must not touch: the vector store, the catalog (and its
# SQLite connection), the embedder.
PRIVATE = frozenset({"store", "catalog", "embedder", "db"})


def reach_ins(source: str, name: str = "<source>") -> list[str]:
    """``file:line .attr`` of every attribute access to one of :data:`PRIVATE` in ``source``."""
    return [
        f"{name}:{node.lineno} .{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE
    ]


def test_the_check_finds_a_reach_into_the_catalog_the_store_or_the_embedder():
    source = (
        "def f(library, q):\n"
        "    library.catalog.db.execute('SELECT 1')\n"
        "    return library.store.query(library.embedder.embed_query(q), 3, [])\n"
    )
    assert sorted(r.split(" ")[1] for r in reach_ins(source)) == [
        ".catalog",
        ".db",
        ".embedder",
        ".store",
    ]
    assert (
        reach_ins("def f(library, q):\n    return library.dense(library.embed_query(q), 3, [])\n")
        == []
    )


def test_no_retrieval_module_reaches_into_a_library():
    modules = sorted(RETRIEVAL.glob("*.py"))
    assert {"naive.py", "hybrid.py", "gate.py", "bridge.py", "addrep.py"} <= {
        m.name for m in modules
    }
    found = [r for m in modules for r in reach_ins(m.read_text(encoding="utf-8"), m.name)]
    assert found == [], "use kidneytalk.search.SearchIndex instead: " + ", ".join(found)


def test_the_library_offers_every_method_of_the_search_interface():
    wanted = {
        name
        for name in vars(SearchIndex)
        if not name.startswith("_") and callable(getattr(SearchIndex, name, None))
    } | {"embed_model_id"}
    assert len(wanted) >= 14
    assert sorted(name for name in wanted if not hasattr(Library, name)) == []

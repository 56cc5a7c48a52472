"""Starting the desktop app does not wait for libraries only adding documents needs."""

from __future__ import annotations

import subprocess
import sys


def test_engine_and_main_window_import_without_pymupdf_or_the_splitters():
    code = (
        "import sys, kidneytalk.engine, kidneytalk.ui.main_window\n"
        "heavy = [m for m in ('pymupdf', 'langchain_text_splitters', 'torch', 'chromadb') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_lazy_pymupdf_is_the_real_module_on_first_use(tmp_path):
    from kidneytalk.parse import parse_file

    path = tmp_path / "one.pdf"
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Chronic kidney disease is common.")
    doc.save(path)
    doc.close()
    parsed = parse_file(path)
    assert "kidney" in parsed.pages[0].blocks[0].text

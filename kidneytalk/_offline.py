"""Make every library we use offline, telemetry off, *before* any of them is imported.

Hugging Face libraries and ONNX Runtime read these variables at import or
initialisation time, so this module is imported first by
``kidneytalk/__init__.py`` (which the CLI, the desktop app and the tests all go
through). Nothing in KidneyTalk may reach a network: models come from
installed packages or from files the user chose.
"""

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",  # huggingface_hub's older name
    "DO_NOT_TRACK": "1",  # the cross-tool convention (huggingface_hub, and others that honour it)
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    # ONNX Runtime (pulled in by PyMuPDF) sends 1DS telemetry and keeps a device id under
    # ~/.cache/Microsoft unless this is set before it initialises.
    "ORT_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def force_offline() -> None:
    """Set the offline variables (overriding anything that turns them back on)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ[key] = value


force_offline()

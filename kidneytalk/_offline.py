"""Make every library we use offline *before* any of them is imported.

Hugging Face libraries read these variables at import time, so this module is
imported first by ``kidneytalk/__init__.py``. Nothing in KidneyTalk may reach a
network: models come from installed packages or from files the user chose.
"""

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "TOKENIZERS_PARALLELISM": "false",
}


def force_offline() -> None:
    """Set the offline variables (overriding anything that turns them back on)."""
    for key, value in _OFFLINE_ENV.items():
        os.environ[key] = value


force_offline()

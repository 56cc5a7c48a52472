"""User-facing errors: one family, messages a clinician can act on.

The CLI prints these without a traceback and the GUI shows them in a dialog;
anything else is a bug and is logged with its traceback.
"""


class KidneyTalkError(Exception):
    """Base class for errors meant to be shown to the user."""


class DocumentError(KidneyTalkError):
    """A document could not be read or ingested (names the file)."""


class WorkSpaceError(KidneyTalkError):
    """This computer had no room to read a document (its temporary page file): not the document's
    fault, so nothing is recorded against it and it can simply be added again."""


class UnsupportedFileError(DocumentError):
    """The file type is not one KidneyTalk can read."""


class DocumentNotFoundError(KidneyTalkError):
    """No document in the library matches the given id or name."""


class LibraryBusyError(KidneyTalkError):
    """Another KidneyTalk process holds the library lock."""


class IndexMismatchError(KidneyTalkError):
    """The on-disk index was built with other settings or an older schema."""


class ModelError(KidneyTalkError):
    """A language or embedding model could not be found, read or loaded."""


class ContextOverflowError(ModelError):
    """The prompt cannot be made to fit the model's context window."""


class Cancelled(KidneyTalkError):
    """The user cancelled a long-running task."""


class SettingsError(KidneyTalkError):
    """A setting has an unknown name, the wrong type or a value out of range (a usage error)."""


class PromptTemplateError(KidneyTalkError):
    """A prompt template that does not exist (e.g. a misspelt override name)."""


class LibraryDamagedError(KidneyTalkError):
    """The catalog or vector store cannot be read; ``kidneytalk doctor --repair`` recovers."""

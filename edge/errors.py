"""Exception types.  Every error a user can cause derives from :class:`CleartuneError`;
the CLI prints its message as one line (no traceback) and exits with status 2."""


class CleartuneError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class ParamsMismatchError(CleartuneError):
    """A model (or dataset) was made with signal parameters that differ from the caller's."""


class AudioInputError(CleartuneError):
    """Audio could not be read: missing, empty, truncated, not audio, unsupported format,
    unknown device, wrong sample rate where a fixed one is required."""


class ModelLoadError(CleartuneError):
    """A model file is missing, corrupt, truncated, or its sidecar metadata is missing or wrong."""


class DataError(CleartuneError):
    """A dataset folder is missing pieces, or its metadata is inconsistent."""

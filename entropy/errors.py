"""The one exception type raised for any bitstream that cannot be decoded."""


class BitstreamError(ValueError):
    """A bitstream is truncated, corrupt, of an unsupported version, or made by another model."""

"""Protocol errors: who broke the rules decides the class."""


class ProtocolError(Exception):
    """Base class. ``where`` names the field or offset that was wrong."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.where = where


class RemoteProtocolError(ProtocolError):
    """The peer sent something that breaks the protocol."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something that breaks the protocol."""

"""The one refusal type of the services: a message that names the field (and the limit) it is about."""


class Refused(ValueError):
    """A write refused for a stated reason; nothing was written."""

    def __init__(self, message: str, field: str | None = None, *, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status

    @property
    def message(self) -> str:
        return str(self)

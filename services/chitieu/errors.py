"""The one error base: every refusal we raise carries its reason in English and Vietnamese and a stable
code, so the CLI, the API's problem documents and the DAG logs show the same two sentences without
parsing a joined string."""

from __future__ import annotations


class ChitieuError(Exception):
    """A refusal with a reason in English (`en`), Vietnamese (`vi`) and a machine-readable `code`.

    `http_status` is the status of an answer carrying it: 500 unless the class (or instance) says
    the client's input was refused (4xx). A database, configuration or internal failure is never the
    client's fault, so only refusals of what the client sent declare a 4xx.
    """

    code: str = "error"
    http_status: int = 500

    def __init__(self, en: str, vi: str, *, code: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.vi = vi
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.en

    def parts(self) -> dict[str, str]:
        """The code and each sentence apart, as a report or a record keeps them (JSON)."""
        return {"code": self.code, "vi": self.vi, "en": self.en}

    def both(self) -> str:
        """Both sentences for a plain-text log line or terminal: Vietnamese first, as our users read."""
        return f"{self.vi} / {self.en}"

"""The allow-list of connectors: a source kind maps to one class, imported only when used.

Nothing outside this table can be loaded by naming it in a spec: a spec's `kind` is a key here,
never a module path.
"""

from __future__ import annotations

import importlib
from typing import Any

from chitieu.errors import ChitieuError
from chitieu.ingest.records import Connector

CONNECTORS: dict[str, str] = {
    "spreadsheet": "chitieu.ingest.connectors.spreadsheet:SpreadsheetConnector",
    "ckan": "chitieu.ingest.connectors.ckan:CkanConnector",
    "dkan": "chitieu.ingest.connectors.dkan:DkanConnector",
    "pxweb": "chitieu.ingest.connectors.pxweb:PxWebConnector",
    "html_table": "chitieu.ingest.connectors.html_table:HtmlTableConnector",
    "json_766": "chitieu.ingest.connectors.json766:Json766Connector",
}


class UnknownConnectorError(ChitieuError, LookupError):
    code = "unknown_connector"

    def __init__(self, kind: str):
        super().__init__(
            f"no connector for source kind {kind!r} (known: {', '.join(sorted(CONNECTORS))})",
            f"không có trình đọc cho loại nguồn {kind!r}",
        )


def connector_class(kind: str) -> type[Any]:
    target = CONNECTORS.get(kind)
    if target is None:
        raise UnknownConnectorError(kind)
    module_name, _, class_name = target.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


def get_connector(spec: Any, http: Any = None) -> Connector:
    """The connector for `spec.kind`, built on the spec (and a shared httpx client when given)."""
    cls = connector_class(spec.kind)
    connector: Connector = cls(spec, http=http)
    return connector


__all__ = ["CONNECTORS", "UnknownConnectorError", "connector_class", "get_connector"]

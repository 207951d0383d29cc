"""DKAN open-data portals: the datastore search API, paged by limit/offset.

DKAN answers in CKAN's datastore shape (`result.fields`, `result.records`, `result.total`, the
total sometimes as a string) but gives no `_links`, so pages are counted here.

spec.url: the portal root. spec.resources or spec.options.resource_ids (required); options.page_size
(default 1000); the same column mapping as CKAN (spec.columns / period_columns / spec.period).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

from chitieu.ingest.connectors.ckan import MAX_PAGES, CkanConnector, datastore_payload, parse_datastore
from chitieu.ingest.connectors.http import ConfigError, utcnow
from chitieu.ingest.records import Payload, RawRecord


class DkanConnector(CkanConnector):
    kind = "dkan"
    search_path = "api/action/datastore/search.json"

    def resources(self) -> list[str]:
        given = self.listed_resources("resource_ids", "resource_id")
        if not given:
            raise ConfigError(
                f"source {self.spec.id!r} (dkan) needs resources (or options.resource_ids)",
                f"nguồn {self.spec.id!r} (dkan) cần khai báo resources (hoặc options.resource_ids)",
            )
        return given

    def _fetch_resource(self, rid: str) -> Payload:
        base = self.require_url()
        base = (base if base.endswith("/") else base + "/") + self.search_path
        fetched_at = utcnow()
        pages: list[bytes] = []
        offset = 0
        total: int | None = None
        first = f"{base}?{urlencode({'resource_id': rid, 'limit': self.page_size, 'offset': 0})}"
        while len(pages) < MAX_PAGES:
            url = f"{base}?{urlencode({'resource_id': rid, 'limit': self.page_size, 'offset': offset})}"
            body = self.request("GET", url).content
            pages.append(body)
            try:
                result = json.loads(body)["result"]
                records = result["records"]
                total = int(result["total"]) if result.get("total") not in (None, "") else None
            except (ValueError, KeyError, TypeError):
                break  # kept verbatim: parse() will say what is wrong with it
            offset += len(records)
            if len(records) < self.page_size or (total is not None and offset >= total):
                break
        return datastore_payload(self.kind, rid, pages, fetched_at=fetched_at, url=first, total=total)

    def parse(self, payload: Payload) -> Iterator[RawRecord]:
        yield from parse_datastore(payload, self.columns, f"DKAN resource {payload.resource or payload.name}")

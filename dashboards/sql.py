"""Grafana's PostgreSQL data source queries as SDK data queries (the SDK ships no builder for them).

A `SqlQuery` serialises to the target JSON Grafana's `grafana-postgresql-datasource` plugin stores and is
registered with the SDK's runtime, so a dashboard with SQL panels parses back into typed objects.
"""

from __future__ import annotations

from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime, variants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

POSTGRES_TYPE = "grafana-postgresql-datasource"


class SqlQuery(variants.Dataquery):
    """One raw SQL target: `format` is 'time_series' (a `time` column first) or 'table'."""

    def __init__(self, raw_sql: str = "", format_val: str = "table", ref_id: str = "A",
                 datasource: DataSourceRef | None = None) -> None:
        self.raw_sql, self.format_val, self.ref_id, self.datasource = raw_sql, format_val, ref_id, datasource

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it (code editor, raw SQL)."""
        payload: dict[str, object] = {"refId": self.ref_id, "rawSql": self.raw_sql, "format": self.format_val,
                                      "rawQuery": True, "editorMode": "code"}
        if self.datasource is not None:
            payload["datasource"] = self.datasource
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """A target read back from dashboard JSON."""
        source = data.get("datasource")
        return cls(data.get("rawSql", ""), data.get("format", "table"), data.get("refId", "A"),
                   DataSourceRef.from_json(source) if isinstance(source, dict) else None)


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builder of a SqlQuery, in the SDK's style."""

    def __init__(self, raw_sql: str, format_val: str = "table") -> None:
        self._internal = SqlQuery(raw_sql, format_val)

    def build(self) -> SqlQuery:
        """The query."""
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        """The query's letter within its panel."""
        self._internal.ref_id = ref_id
        return self

    def datasource(self, ref: DataSourceRef) -> Self:
        """The data source the query runs on."""
        self._internal.datasource = ref
        return self


runtime.register_dataquery_variant(runtime.DataqueryConfig(identifier=POSTGRES_TYPE, from_json_hook=SqlQuery.from_json))

"""Data-quality rules attached to tables and columns, their change history, and the results of evaluating them.

A rule is keyed by a stable name per table (`uq(table_id, name)`), so a rule file kept in version control maps onto
the stored rules one to one. `kind` names the check and `params` holds its kind's typed parameters
(`catalog_api.services.quality.kinds`), which an evaluator later turns into aggregates of the profile pass.

The history of rules is append-only and not tied to a rule by foreign key: a removed rule's past stays readable.
Results are one row per rule and evaluation run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from catalog_api.db.models import NAME_LENGTH, Base, Timestamped, _BigSerial, utcnow

RULE_NAME_LENGTH = 128
ACTOR_LENGTH = 300


class QualityRule(Timestamped, Base):
    """One rule on a table (`column` null) or on one of its columns, at its current `version`."""

    __tablename__ = "quality_rules"
    __table_args__ = (UniqueConstraint("table_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(RULE_NAME_LENGTH))
    column: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    """The column's name as the source spells it; for `freshness`, the timestamp column (null: last extraction)."""
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    updated_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class QualityRuleChange(Base):
    """One change of a rule (`created`, `updated`, `removed`) with its definition before and after, who and when."""

    __tablename__ = "quality_rule_changes"
    __table_args__ = (Index(None, "table_id", "rule_name", "id"),)

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    rule_id: Mapped[int] = mapped_column(Integer)
    rule_name: Mapped[str] = mapped_column(String(RULE_NAME_LENGTH))
    change: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class QualityResult(Base):
    """The outcome of one rule in one evaluation run: `passed`, `failed` or `error`, the observed value, how many
    rows failed and up to a few of their keys (the rule's `rule_version` at the time is kept with it)."""

    __tablename__ = "quality_results"
    __table_args__ = (Index(None, "rule_id", "evaluated_at"), Index(None, "table_id", "evaluated_at"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("quality_rules.id", ondelete="CASCADE"))
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    rule_version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(64))
    """The evaluation run: a job id, or the id of the profile run the rule was evaluated in."""
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    observed: Mapped[Any | None] = mapped_column(JSON)
    failing_rows: Mapped[int | None] = mapped_column(BigInteger)
    sample_keys: Mapped[list[Any]] = mapped_column(default=list)
    message: Mapped[str | None] = mapped_column(Text)

"""`catalog source update`: what changes in the source's row, and what a refused change leaves alone."""

from __future__ import annotations

import json
import shutil

from tests.support.cli import last_event, rows

SOURCE = "select description, config from data_sources where name = 'shop'"


def _stored(ctx) -> tuple[str | None, dict]:
    ((description, config),) = rows(ctx, SOURCE)
    return description, json.loads(config) if isinstance(config, str) else config


def test_update_changes_the_description_and_the_given_config_keys(shop, cli_in_process, tmp_path):
    moved = shutil.copyfile(tmp_path / "sources" / "shop.db", tmp_path / "sources" / "shop-copy.db")
    done = cli_in_process("source", "update", "shop", "--description", "The web shop")
    assert "updated shop: description" in done.stdout
    assert _stored(shop)[0] == "The web shop"
    assert last_event(shop, "catalog.source.updated")["actor"] == "local"

    done = cli_in_process("source", "update", "shop", "--config", f"path={moved}")
    assert "updated shop: config" in done.stdout
    description, config = _stored(shop)
    assert description == "The web shop" and config["path"] == str(moved)
    assert "nothing changed" in cli_in_process("source", "update", "shop", "--description", "The web shop").stdout


def test_a_refused_update_names_the_field_once_and_stores_nothing(shop, cli_in_process, tmp_path):
    before = _stored(shop)
    outside = cli_in_process("source", "update", "shop", "--config", f"path={tmp_path / 'elsewhere.db'}",
                             "--description", "never stored", ok=False)
    assert outside.exit_code == 1
    assert outside.stderr.startswith("error (invalid_input): config.path: ")
    assert outside.stderr.count("config.path") == 1
    unknown = cli_in_process("source", "update", "shop", "--config", "colour=blue", ok=False)
    assert unknown.exit_code == 1 and unknown.stderr.strip() == "error (invalid_input): config.colour: unknown field"
    assert _stored(shop) == before


def test_config_sets_the_named_keys_and_unset_restores_the_default(shop, cli_in_process):
    """`--config` and `--unset` travel as one `config_patch`, merged by the service under the row lock: the keys the
    command does not name keep the value stored when it saves."""
    path = _stored(shop)[1]["path"]
    assert "updated shop: config" in cli_in_process("source", "update", "shop", "-c", "statement_timeout_ms=500").stdout
    assert _stored(shop)[1]["statement_timeout_ms"] == 500
    done = cli_in_process("source", "update", "shop", "--unset", "statement_timeout_ms", "-c", "exclude_tables=[]")
    assert "updated shop: config" in done.stdout
    config = _stored(shop)[1]
    assert (config["path"], config["statement_timeout_ms"]) == (path, 30_000)
    refused = cli_in_process("source", "update", "shop", "-c", "statement_timeout_ms=1", ok=False)
    assert refused.stderr.startswith("error (invalid_input): config.statement_timeout_ms: ")
    assert _stored(shop)[1]["statement_timeout_ms"] == 30_000

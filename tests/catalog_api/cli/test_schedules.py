"""`catalog schedule list|add|remove`: crawl schedules, checked against the sources' rows in the catalog."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

from tests.support.cli import last_event, rows, table_rows

SCHEDULE = "select schedule_cron, schedule_timezone, next_run_at from data_sources where name = 'shop'"


def test_add_list_and_remove_a_schedule(shop, cli_in_process):
    assert "no schedules" in cli_in_process("schedule", "list").stdout

    added = cli_in_process("schedule", "add", "shop", "30 2 * * 1-5", "--timezone", "Europe/Berlin").stdout
    ((cron, zone, next_run),) = rows(shop, SCHEDULE)
    assert (cron, zone) == ("30 2 * * 1-5", "Europe/Berlin")
    next_run = datetime.fromisoformat(str(next_run)).replace(tzinfo=timezone.utc)
    assert croniter.match(cron, next_run.astimezone(ZoneInfo(zone)))  # a slot of the cron, in its time zone
    assert f"next run {next_run:%Y-%m-%d %H:%M} UTC" in added
    assert last_event(shop, "catalog.source.updated")["actor"] == "local"  # the CLI acts as the local operator

    listed = json.loads(cli_in_process("schedule", "list", "--json").stdout)
    assert [(s["source"], s["job"], s["cron"], s["timezone"], datetime.fromisoformat(s["next_run_at"]))
            for s in listed] == [("shop", "crawl", cron, zone, next_run)]
    assert table_rows(cli_in_process("schedule", "list").stdout)[0][:5] == [
        "shop", "crawl", cron, zone, f"{next_run:%Y-%m-%d %H:%M} UTC"]

    assert "shop has no crawl schedule now" in cli_in_process("schedule", "remove", "shop").stdout
    assert rows(shop, SCHEDULE) == [(None, "UTC", None)]
    assert json.loads(cli_in_process("schedule", "list", "--json").stdout) == []


def test_a_bad_schedule_names_its_field_once_and_changes_nothing(shop, cli_in_process):
    cli_in_process("schedule", "add", "shop", "0 2 * * *")
    before = rows(shop, SCHEDULE)
    for args, field in ((("shop", "0 2 * *"), "schedule_cron"), (("shop", "61 2 * * *"), "schedule_cron"),
                        (("shop", "0 2 * * *", "--tz", "Mars/Olympus"), "schedule_timezone")):
        refused = cli_in_process("schedule", "add", *args, ok=False)
        assert refused.exit_code == 1 and refused.stderr.count(f"{field}:") == 1, refused.stderr
    assert rows(shop, SCHEDULE) == before
    misspelt = cli_in_process("schedule", "remove", "shpo", ok=False)
    assert misspelt.exit_code == 1 and "did you mean 'shop'?" in misspelt.stderr

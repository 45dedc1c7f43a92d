"""Cron expressions of source schedules: validation with field-named errors, and the next slot in a time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from catalog_api.errors import InvalidInput


def validate_schedule(cron: str | None, timezone_name: str) -> tuple[str | None, str]:
    """A five-field cron expression (or None to clear) and an IANA time zone; errors name the field."""
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("schedule_timezone", f"unknown time zone {timezone_name!r}; use an IANA name such as "
                                                "'Europe/Berlin' or 'UTC'") from None
    if cron is None or not cron.strip():
        return None, timezone_name
    cron = " ".join(cron.split())
    if len(cron.split()) != 5:
        raise InvalidInput("schedule_cron", "a schedule has five fields: minute hour day-of-month month day-of-week")
    try:
        croniter(cron)
    except (CroniterBadCronError, CroniterNotAlphaError, CroniterBadDateError, ValueError) as error:
        raise InvalidInput("schedule_cron", f"not a valid cron expression: {error}") from None
    return cron, timezone_name


def next_run(cron: str, timezone_name: str, after: datetime) -> datetime:
    """The first slot strictly after `after`, evaluated in the schedule's time zone, returned in UTC."""
    zone = ZoneInfo(timezone_name)
    return croniter(cron, after.astimezone(zone)).get_next(datetime).astimezone(ZoneInfo("UTC"))

"""`python -m catalog_api.observability.worker_logs <dramatiq arguments>`: dramatiq's command line, logging in the
catalog's format (`catalog_api.observability.logs`).

dramatiq's master process configures logging with `logging.basicConfig` in its own text format before it imports
anything of the catalog, then forks its worker processes. Configuring the root logger first, here, makes those
`basicConfig` calls no-ops, so the master's lines (boot, shutdown, a dead worker process) and every worker
process's lines (which dramatiq routes through a pipe to the master's stderr) share one format. `catalog worker`
execs this module instead of `python -m dramatiq`.
"""

from __future__ import annotations

import os
import sys

from dramatiq.cli import main as dramatiq_main

from catalog_api.observability.logs import configure_logging
from catalog_api.settings import get_settings


def main() -> int:
    settings = get_settings()
    # Worker processes that do not inherit this configuration (spawned) choose the same format as this one.
    os.environ["CATALOG_LOG_FORMAT"] = configure_logging(settings.log_format, settings.log_level)
    return dramatiq_main()


if __name__ == "__main__":
    sys.exit(main())

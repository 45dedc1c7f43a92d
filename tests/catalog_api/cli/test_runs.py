"""crawl, extract and profile as a user runs them: what reaches the console, and what goes to the log instead."""

from __future__ import annotations

from tests.support.sqlite import build_database

ORDERS = "create table orders (id integer primary key, total real);"
ROWS = "insert into orders (total) values (10.5), (20.0), (7.25);"

# Lines the JVM and Spark print on every start: the launcher's module notice, Hadoop's missing native library and
# log4j's default-profile notice. None of them is for the user of a command.
JVM_NOISE = ("WARNING: Using incubator modules", "NativeCodeLoader", "log4j")


def test_spark_and_jvm_output_goes_to_the_log_not_the_console(run_cli, tmp_path):
    (tmp_path / "sources").mkdir()
    database = build_database(tmp_path / "sources" / "shop.db", ORDERS, ROWS)
    run_cli("db", "upgrade")
    run_cli("source", "add", "shop", "--kind", "sqlite", "--config", f"path={database}")
    run_cli("crawl", "shop")

    # A new process, which starts its own JVM: a table this small would be profiled without one unless told.
    done = run_cli("profile", "shop", settings={"profile_in_process_max_cells": "0"})

    console = done.stdout + done.stderr
    assert [noise for noise in JVM_NOISE if noise in console] == []
    assert "main.orders" in done.stdout and "profile succeeded" in done.stdout  # the summary still shows
    log = (tmp_path / "home" / "logs" / "spark.log").read_text()
    assert "NativeCodeLoader" in log and "log4j" in log

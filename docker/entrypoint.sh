#!/bin/sh
# The image's entrypoint, run by tini: the data volume is empty on first use, so make the folders the environment
# points at (temporary files, caches, the catalog's home) before becoming `catalog` with the role's arguments.
set -eu
mkdir -p "${TMPDIR:?}" "${XDG_CACHE_HOME:?}" "${CATALOG_HOME:?}"
exec catalog "$@"

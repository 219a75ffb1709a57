#!/usr/bin/env bash
# Fetch hadoop-aws 3.3.1 + aws-java-sdk-bundle 1.11.901 so local Spark can read and write
# s3:// against the emulator. The pyspark wheel ships without them, and the only offline
# source here is the sagemaker-pyspark 1.4.5 sdist on PyPI (never pip-install it: it pins
# an old pyspark). Only the two jars are kept, outside the repository.
set -euo pipefail
JARS_DIR="${1:-${API_ETL_JARS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/api-etl/jars}}"
PYTHON="${PYTHON:-python3}"
NEEDED=(hadoop-aws-3.3.1.jar aws-java-sdk-bundle-1.11.901.jar)

have_all() { for j in "${NEEDED[@]}"; do [ -s "$JARS_DIR/$j" ] || return 1; done; }
if have_all; then echo "s3 jars present in $JARS_DIR"; exit 0; fi

mkdir -p "$JARS_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "downloading sagemaker-pyspark 1.4.5 sdist (~181 MB) for its hadoop-aws jars..."
"$PYTHON" -m pip download -q --no-deps --no-binary :all: \
  -d "$work" sagemaker-pyspark==1.4.5
archive="$(find "$work" -maxdepth 1 -name 'sagemaker?pyspark-1.4.5.tar.gz' | head -1)"
[ -n "$archive" ] || { echo "error: sagemaker-pyspark sdist not downloaded" >&2; exit 1; }
for jar in "${NEEDED[@]}"; do
  member="$(tar -tzf "$archive" | grep "/$jar\$" | head -1)"
  [ -n "$member" ] || { echo "error: $jar not found in $archive" >&2; exit 1; }
  tar -xzf "$archive" -C "$work" "$member"
  mv "$work/$member" "$JARS_DIR/$jar.part" && mv "$JARS_DIR/$jar.part" "$JARS_DIR/$jar"
done
have_all && echo "s3 jars ready in $JARS_DIR"

# The project's two commands are `make demo` and `make test`; both set up everything they
# need from scratch (virtualenv, pinned packages, the s3 jars, the Terraform check tools).
SHELL := /bin/bash
PYTHON_BOOTSTRAP ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JARS_DIR ?= $(or $(API_ETL_JARS_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/api-etl/jars)
export API_ETL_JARS_DIR := $(JARS_DIR)
export SPARK_LOCAL_IP := 127.0.0.1
PYTEST_ARGS ?=

.PHONY: help setup venv jars check-java test test-unit test-integration demo package bench bench-layers clean

help:
	@echo "make demo   - run the whole pipeline on the embedded local stack and print a summary"
	@echo "make test   - run the test suite (sets up venv, jars and Terraform tools first)"
	@echo "make package - build the library wheel into dist/"
	@echo "make bench  - throughput, rate-limit, memory and batch benchmarks (long)"
	@echo "make bench-layers - the partition engine's CPU per request, layer by layer (~2 min)"

include mk/terraform.mk
include mk/local.mk

setup: venv jars

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON_BOOTSTRAP) >/dev/null || { echo "Python 3.11 is required"; exit 1; }
	$(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,speed,bench]'
	touch $@

check-java:
	@command -v java >/dev/null || { echo "Java 17 is required for Spark (apt-get install openjdk-17-jre-headless)"; exit 1; }

jars: venv
	PYTHON=$(PY) scripts/dev/fetch_s3_jars.sh "$(JARS_DIR)"

test: setup check-java terraform-tools
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit tests/scripts $(PYTEST_ARGS)

test-integration: setup check-java
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

demo: setup check-java
	$(PY) scripts/demo/run_demo.py

package: venv
	rm -rf dist build
	$(PY) -m pip wheel -q --no-deps -w dist .
	@ls dist/*.whl

bench: setup check-java
	$(PY) scripts/bench/run_all.py

bench-layers: setup
	$(PY) scripts/bench/engine_layers.py

clean:
	rm -rf dist build .pytest_cache demo-output

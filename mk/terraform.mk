# Terraform static-check tools (included by the root Makefile).
#
# No terraform CLI or provider binary is used. `make terraform-tools` prepares, idempotently:
#   - .venv-checkov/: checkov, pinned, in its own venv (its bc-python-hcl2 clashes with the
#     python-hcl2 of the project venv);
#   - the AWS provider schema extract: the cdktn-provider-aws wheel is downloaded once
#     (pip download --no-deps) into a cache outside the repository, and a compact JSON of
#     every resource/data source schema is extracted from its jsii assembly.
# Nothing here is committed: the venv is git-ignored and the cache lives under ~/.cache.
#
# Tests find the tools through TF_SCHEMA_EXTRACT and CHECKOV_BIN (exported below).

PYTHON_BOOTSTRAP ?= python3
CHECKOV_VERSION ?= 3.3.30
CDKTN_PROVIDER_AWS_VERSION ?= 25.8.1
CHECKOV_VENV ?= .venv-checkov
TF_TOOLS_CACHE ?= $(or $(API_ETL_CACHE_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/api-etl)
TF_PROVIDER_WHEEL_DIR := $(TF_TOOLS_CACHE)/wheels
TF_PROVIDER_WHEEL := $(TF_PROVIDER_WHEEL_DIR)/cdktn_provider_aws-$(CDKTN_PROVIDER_AWS_VERSION)-py3-none-any.whl
TF_SCHEMA_EXTRACT ?= $(TF_TOOLS_CACHE)/aws-provider-schema-cdktn-$(CDKTN_PROVIDER_AWS_VERSION).json
CHECKOV_BIN ?= $(CURDIR)/$(CHECKOV_VENV)/bin/checkov

export TF_SCHEMA_EXTRACT
export CHECKOV_BIN

.PHONY: terraform-tools terraform-checkov-venv terraform-schema terraform-fmt terraform-test

terraform-tools: terraform-checkov-venv terraform-schema

terraform-checkov-venv: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	@command -v $(PYTHON_BOOTSTRAP) >/dev/null || { echo "$(PYTHON_BOOTSTRAP) is required"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_BOOTSTRAP) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	$(CHECKOV_VENV)/bin/checkov --version
	touch $@

terraform-schema: $(TF_SCHEMA_EXTRACT)

$(TF_PROVIDER_WHEEL):
	mkdir -p $(TF_PROVIDER_WHEEL_DIR)
	$(PYTHON_BOOTSTRAP) -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
		-d $(TF_PROVIDER_WHEEL_DIR) cdktn-provider-aws==$(CDKTN_PROVIDER_AWS_VERSION)
	test -f $@

$(TF_SCHEMA_EXTRACT): $(TF_PROVIDER_WHEEL) scripts/terraform_checks/extract_schema.py
	$(PYTHON_BOOTSTRAP) scripts/terraform_checks/extract_schema.py $(TF_PROVIDER_WHEEL) $@

# Rewrite the Terraform sources in canonical format (the tests run `fmt -check`).
terraform-fmt: venv
	CHECKPOINT_DISABLE=1 PYTHONPATH=scripts $(PY) -m terraform_checks.fmt -recursive terraform localstack/terraform

# Only the Terraform test tier.
terraform-test: venv terraform-tools
	$(PY) -m pytest -m terraform tests/terraform $(PYTEST_ARGS)

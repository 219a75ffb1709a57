# The local AWS stack (included by the root Makefile: `include mk/local.mk`).
#
#   make local-up      start moto (HTTPS, 127.0.0.1) and provision the stack (+ LOCAL_ROWS input rows)
#   make local-env     print the export lines that point boto3 / the job at it (eval "$(make -s local-env)")
#   make local-down    stop it (by the PID in its state dir)
#   make upload-artifacts TF_OUTPUTS=tf-outputs.json   package, then upload script + wheel (+ UPLOAD_CONFIG)
#
# State (port, PID, log, throwaway CA) lives in LOCAL_STATE, git-ignored under demo-output/.

LOCAL_STATE ?= demo-output/emulator
STACK_NAME ?= api-etl-demo
LOCAL_ROWS ?= 20000
TF_OUTPUTS ?= tf-outputs.json
UPLOAD_CONFIG ?=

.PHONY: local-up local-down local-env local-status upload-artifacts

local-up: venv
	$(PY) -m localstack.emulator start --state-dir $(LOCAL_STATE)
	eval "$$($(PY) -m localstack.emulator env --state-dir $(LOCAL_STATE))" && \
		$(PY) -m localstack.provision --name $(STACK_NAME) --rows $(LOCAL_ROWS)

local-down: venv
	$(PY) -m localstack.emulator stop --state-dir $(LOCAL_STATE)

local-env: venv
	@$(PY) -m localstack.emulator env --state-dir $(LOCAL_STATE)

local-status: venv
	@$(PY) -m localstack.emulator status --state-dir $(LOCAL_STATE)

upload-artifacts: package
	$(PY) scripts/package/upload_artifacts.py --tf-outputs $(TF_OUTPUTS) $(if $(UPLOAD_CONFIG),--config $(UPLOAD_CONFIG))

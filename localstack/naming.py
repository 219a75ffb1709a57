"""Every name the stack uses, derived from one base name: the Python twin of the Terraform root.

``terraform/examples/complete/main.tf`` derives the same names in its ``locals`` (and exposes
them in the ``names`` output); ``tests/integration/local_stack/test_naming_agrees_with_terraform.py``
parses that HCL and checks both agree. Provisioning, the demo, the upload script and the tests
all take their names from here.
"""

from __future__ import annotations

import dataclasses
import re

DEFAULT_NAME = "api-etl-demo"
MOTO_ACCOUNT_ID = "123456789012"  # the account id moto (and LocalStack) report
DEFAULT_REGION = "us-east-1"
METRICS_NAMESPACE = "ApiEtl"

DATA_PREFIXES = {
    "source": "source/",
    "sink": "sink/",
    "checkpoints": "checkpoints/",
    "dead_letter": "dead-letter/",
}
SCRIPT_KEY = "glue/job.py"
WHEEL_PREFIX = "wheels/"
CONFIG_KEY = "configs/pipeline.yaml"
SPARK_UI_LOGS_PREFIX = "spark-ui-logs/"
TEMP_DIR_PREFIX = "glue-temp/"
DEFAULT_WHEEL_FILE = "glue_api_etl-0.1.0-py3-none-any.whl"

# The Terraform variable's validation, repeated so a bad name fails here the same way.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")


@dataclasses.dataclass(frozen=True)
class StackNames:
    name: str = DEFAULT_NAME
    account_id: str = MOTO_ACCOUNT_ID
    region: str = DEFAULT_REGION
    wheel_file_name: str = DEFAULT_WHEEL_FILE

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(
                f"stack name {self.name!r}: 3-32 of [a-z0-9-], starting with a letter and ending"
                " with a letter or digit (the Terraform root's `name` variable has the same rule)"
            )
        if not re.fullmatch(r"\d{12}", self.account_id):
            raise ValueError(f"account id {self.account_id!r} must be 12 digits")

    # -- the Terraform root's locals, one property each -----------------------------------
    @property
    def kms_alias(self) -> str:
        return f"alias/{self.name}"

    @property
    def data_bucket(self) -> str:
        return f"{self.name}-data-{self.account_id}"

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.name}-artifacts-{self.account_id}"

    @property
    def access_logs_bucket(self) -> str:
        return f"{self.name}-access-logs-{self.account_id}"

    @property
    def secret(self) -> str:
        return f"{self.name}/api-credentials"

    @property
    def job(self) -> str:
        return f"{self.name}-job"

    @property
    def role(self) -> str:
        return f"{self.name}-glue-job"

    @property
    def log_group(self) -> str:
        return f"/aws-glue/jobs/{self.name}"

    @property
    def log_groups(self) -> tuple[str, ...]:
        """The job's log groups: Glue 5.0 adds /output and /error under the custom prefix."""
        return (self.log_group, f"{self.log_group}/output", f"{self.log_group}/error")

    @property
    def glue_database(self) -> str:
        return f"{self.name.replace('-', '_')}_db"

    @property
    def sns_topic(self) -> str:
        return f"{self.name}-alerts"

    @property
    def dashboard(self) -> str:
        return self.name

    @property
    def metrics_namespace(self) -> str:
        return METRICS_NAMESPACE

    @property
    def script_key(self) -> str:
        return SCRIPT_KEY

    @property
    def wheel_key(self) -> str:
        return WHEEL_PREFIX + self.wheel_file_name

    @property
    def config_key(self) -> str:
        return CONFIG_KEY

    @property
    def buckets(self) -> dict[str, str]:
        """Bucket key (as in the storage module's ``local.buckets``) -> bucket name."""
        return {"data": self.data_bucket, "artifacts": self.artifacts_bucket, "access_logs": self.access_logs_bucket}

    # -- URIs ---------------------------------------------------------------------------
    def data_uri(self, prefix_key: str) -> str:
        return f"s3://{self.data_bucket}/{DATA_PREFIXES[prefix_key]}"

    @property
    def config_uri(self) -> str:
        return f"s3://{self.artifacts_bucket}/{self.config_key}"

    @property
    def script_uri(self) -> str:
        return f"s3://{self.artifacts_bucket}/{self.script_key}"

    @property
    def wheel_uri(self) -> str:
        return f"s3://{self.artifacts_bucket}/{self.wheel_key}"

    def template_values(self) -> dict[str, str]:
        """The variables ``pipeline.yaml.tftpl`` (and ``localstack/configs/*.tmpl``) take."""
        return {
            "artifacts_bucket": self.artifacts_bucket,
            "data_bucket": self.data_bucket,
            "source_prefix": DATA_PREFIXES["source"],
            "sink_prefix": DATA_PREFIXES["sink"],
            "checkpoints_prefix": DATA_PREFIXES["checkpoints"],
            "dead_letter_prefix": DATA_PREFIXES["dead_letter"],
            "secret_name": self.secret,
            "metrics_namespace": self.metrics_namespace,
            "job_name": self.job,
        }

    def as_outputs(self) -> dict[str, str]:
        """The same dict as the Terraform root's ``names`` output."""
        return {
            "kms_alias": self.kms_alias,
            "data_bucket": self.data_bucket,
            "artifacts_bucket": self.artifacts_bucket,
            "access_logs_bucket": self.access_logs_bucket,
            "secret": self.secret,
            "job": self.job,
            "role": self.role,
            "log_group": self.log_group,
            "glue_database": self.glue_database,
            "sns_topic": self.sns_topic,
            "dashboard": self.dashboard,
            "metrics_namespace": self.metrics_namespace,
            "script_key": self.script_key,
            "wheel_key": self.wheel_key,
            "config_key": self.config_key,
            "data_prefix_source": DATA_PREFIXES["source"],
            "data_prefix_sink": DATA_PREFIXES["sink"],
            "data_prefix_ckpt": DATA_PREFIXES["checkpoints"],
            "data_prefix_dead": DATA_PREFIXES["dead_letter"],
            "spark_ui_logs_prefix": SPARK_UI_LOGS_PREFIX,
            "temp_dir_prefix": TEMP_DIR_PREFIX,
        }

variable "job_name" {
  description = "Name of the Glue job (the root example uses `<name>-job`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,255}$", var.job_name))
    error_message = "job_name: 1-255 of [A-Za-z0-9_.-]."
  }
}

variable "description" {
  description = "Description of the Glue job."
  type        = string
  default     = "Calls an external REST API once per row under a job-wide rate limit (api-etl)."
}

variable "role_arn" {
  description = "ARN of the IAM role the job runs as (modules/iam)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "role_arn: an IAM role ARN."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key: log group, security configuration (S3 output, CloudWatch logs, job bookmarks) and uploaded artifacts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN."
  }
}

variable "artifacts_bucket_name" {
  description = "Bucket that receives the entry script, the library wheel and the pipeline config."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts_bucket_name))
    error_message = "artifacts_bucket_name: a valid S3 bucket name."
  }
}

variable "script_s3_key" {
  description = "Object key of the Glue entry script in the artifacts bucket."
  type        = string
  default     = "glue/job.py"

  validation {
    condition     = can(regex("^[^/].*\\.py$", var.script_s3_key))
    error_message = "script_s3_key: a relative key ending in .py."
  }
}

variable "script_source_path" {
  description = "Local path of the Glue entry script to upload (the repository's glue_job/job.py)."
  type        = string

  validation {
    condition     = endswith(var.script_source_path, ".py")
    error_message = "script_source_path: a path ending in .py."
  }
}

variable "wheel_s3_key" {
  description = "Object key of the library wheel in the artifacts bucket (wheels/<wheel file name>)."
  type        = string

  validation {
    condition     = can(regex("^[^/].*\\.whl$", var.wheel_s3_key))
    error_message = "wheel_s3_key: a relative key ending in .whl."
  }
}

variable "wheel_source_path" {
  description = "Local path of the library wheel built by `make package` (dist/<wheel file name>)."
  type        = string

  validation {
    condition     = endswith(var.wheel_source_path, ".whl")
    error_message = "wheel_source_path: a path ending in .whl."
  }
}

variable "config_s3_key" {
  description = "Object key of the pipeline config in the artifacts bucket; `--config_uri` points at it."
  type        = string
  default     = "configs/pipeline.yaml"

  validation {
    condition     = can(regex("^[^/].*\\.(ya?ml|json)$", var.config_s3_key))
    error_message = "config_s3_key: a relative key ending in .yaml, .yml or .json."
  }
}

variable "config_source_path" {
  description = "Local path of the pipeline config to upload to config_s3_key. Give exactly one of config_source_path and config_content."
  type        = string
  default     = null

  validation {
    condition     = var.config_source_path == null ? true : can(regex("\\.(ya?ml|json)$", var.config_source_path))
    error_message = "config_source_path: null or a path ending in .yaml, .yml or .json."
  }
}

variable "config_content" {
  description = "Pipeline config text (e.g. rendered with templatefile) to upload to config_s3_key. Give exactly one of config_source_path and config_content."
  type        = string
  default     = null
}

variable "spark_ui_logs_prefix" {
  description = "Artifacts bucket prefix for Spark UI event logs (ends in /)."
  type        = string
  default     = "spark-ui-logs/"

  validation {
    condition     = endswith(var.spark_ui_logs_prefix, "/") && !startswith(var.spark_ui_logs_prefix, "/")
    error_message = "spark_ui_logs_prefix: a relative prefix ending in /."
  }
}

variable "temp_dir_prefix" {
  description = "Artifacts bucket prefix used as Glue's --TempDir (ends in /)."
  type        = string
  default     = "glue-temp/"

  validation {
    condition     = endswith(var.temp_dir_prefix, "/") && !startswith(var.temp_dir_prefix, "/")
    error_message = "temp_dir_prefix: a relative prefix ending in /."
  }
}

variable "worker_type" {
  description = "Glue worker type. G.1X = 4 vCPU / 16 GB, G.2X = 8 vCPU / 32 GB, G.4X, G.8X."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type: one of G.1X, G.2X, G.4X, G.8X."
  }
}

variable "number_of_workers" {
  description = "Number of workers (the driver is one of them)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && var.number_of_workers <= 1000 && floor(var.number_of_workers) == var.number_of_workers
    error_message = "number_of_workers: a whole number from 2 to 1000."
  }
}

variable "timeout_minutes" {
  description = "Job run timeout in minutes."
  type        = number
  default     = 480

  validation {
    condition     = var.timeout_minutes >= 1 && var.timeout_minutes <= 10080 && floor(var.timeout_minutes) == var.timeout_minutes
    error_message = "timeout_minutes: a whole number from 1 to 10080 (7 days)."
  }
}

variable "max_retries" {
  description = "Automatic retries of a failed run. The job checkpoints per batch, so a retry resumes; keep 0 with job run queuing."
  type        = number
  default     = 0

  validation {
    condition     = var.max_retries >= 0 && var.max_retries <= 10 && floor(var.max_retries) == var.max_retries
    error_message = "max_retries: a whole number from 0 to 10."
  }
}

variable "max_concurrent_runs" {
  description = "Maximum concurrent runs of the job. Keep 1 unless runs use distinct run ids and sinks: the rate limit is per run."
  type        = number
  default     = 1

  validation {
    condition     = var.max_concurrent_runs >= 1 && var.max_concurrent_runs <= 1000 && floor(var.max_concurrent_runs) == var.max_concurrent_runs
    error_message = "max_concurrent_runs: a whole number from 1 to 1000."
  }
}

variable "execution_class" {
  description = "STANDARD, or FLEX (spare capacity, cheaper, slower to start; G.1X/G.2X only, not with job run queuing)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "FLEX"], var.execution_class)
    error_message = "execution_class: STANDARD or FLEX."
  }
}

variable "job_run_queuing_enabled" {
  description = "Queue runs beyond max_concurrent_runs instead of failing them. AWS refuses it with FLEX and with max_retries > 0."
  type        = bool
  default     = false
}

variable "notify_delay_after_minutes" {
  description = "Minutes after a run starts before Glue sends a delay notification (EventBridge \"Glue Job Run Status\"); null disables."
  type        = number
  default     = 120

  validation {
    condition     = var.notify_delay_after_minutes == null ? true : (var.notify_delay_after_minutes >= 1 && floor(var.notify_delay_after_minutes) == var.notify_delay_after_minutes)
    error_message = "notify_delay_after_minutes: null or a whole number >= 1."
  }
}

variable "log_group_name" {
  description = "CloudWatch log group of the job's continuous logs (the root example uses `/aws-glue/jobs/<name>`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,500}$", var.log_group_name))
    error_message = "log_group_name: 1-500 of [A-Za-z0-9_./#-]."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the job's log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days: one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "security_configuration_name" {
  description = "Name of the Glue security configuration; null derives `<job_name>-security`."
  type        = string
  default     = null

  validation {
    condition     = var.security_configuration_name == null ? true : can(regex("^[A-Za-z0-9_.-]{1,255}$", var.security_configuration_name))
    error_message = "security_configuration_name: null or 1-255 of [A-Za-z0-9_.-]."
  }
}

variable "glue_database_name" {
  description = "Glue Data Catalog database created for the job's tables."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name: 1-255 of [a-z0-9_]."
  }
}

variable "python_modules_installer_option" {
  description = "Optional value of --python-modules-installer-option (e.g. \"--no-index\" when every dependency is provided as a wheel); null leaves pip's default."
  type        = string
  default     = null
}

variable "extra_default_arguments" {
  description = "Additional job arguments (keys start with --). The arguments this module manages take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_default_arguments) : startswith(k, "--")])
    error_message = "extra_default_arguments: every key starts with --."
  }
}

variable "schedule_expression" {
  description = "Cron expression of the scheduled trigger, in Glue's cron(...) form (UTC); null creates no scheduled trigger."
  type        = string
  default     = "cron(0 2 * * ? *)"

  validation {
    condition     = var.schedule_expression == null ? true : can(regex("^cron\\(([^ ]+ ){5}[^ ]+\\)$", var.schedule_expression))
    error_message = "schedule_expression: null or cron(minutes hours day-of-month month day-of-week year)."
  }
}

variable "schedule_enabled" {
  description = "Whether the scheduled trigger is active (it is created, but paused, when false)."
  type        = bool
  default     = true
}

variable "create_on_demand_trigger" {
  description = "Create an ON_DEMAND trigger (started with `aws glue start-trigger`)."
  type        = bool
  default     = true
}

variable "upstream_job_name" {
  description = "Optional name of another Glue job; when set, a CONDITIONAL trigger starts this job after that job's run ends in upstream_job_state."
  type        = string
  default     = null

  validation {
    condition     = var.upstream_job_name == null ? true : can(regex("^[A-Za-z0-9_.-]{1,255}$", var.upstream_job_name))
    error_message = "upstream_job_name: null or a Glue job name."
  }
}

variable "upstream_job_state" {
  description = "State of the upstream job's run that fires the conditional trigger."
  type        = string
  default     = "SUCCEEDED"

  validation {
    condition     = contains(["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"], var.upstream_job_state)
    error_message = "upstream_job_state: SUCCEEDED, FAILED, TIMEOUT or STOPPED."
  }
}

variable "trigger_arguments" {
  description = "Job arguments passed by every trigger (e.g. {\"--run_id\" = \"...\"}); keys start with --."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.trigger_arguments) : startswith(k, "--")])
    error_message = "trigger_arguments: every key starts with --."
  }
}

variable "tags" {
  description = "Tags applied to the job, triggers, log groups, objects and database."
  type        = map(string)
  default     = {}
}

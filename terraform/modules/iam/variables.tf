variable "role_name" {
  description = "Name of the Glue job role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name: 1-64 of [A-Za-z0-9+=,.@_-]."
  }
}

variable "permissions_boundary_arn" {
  description = "Optional ARN of a permissions boundary policy for the role."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn: null or an IAM policy ARN."
  }
}

variable "data_bucket_arn" {
  description = "ARN of the data bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$", var.data_bucket_arn))
    error_message = "data_bucket_arn: an S3 bucket ARN."
  }
}

variable "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$", var.artifacts_bucket_arn))
    error_message = "artifacts_bucket_arn: an S3 bucket ARN."
  }
}

variable "data_prefixes" {
  description = "Data bucket prefixes: the job reads `source` and writes `sink`, `checkpoints` and `dead_letter`. Each ends in /."
  type = object({
    source      = string
    sink        = string
    checkpoints = string
    dead_letter = string
  })
  default = {
    source      = "source/"
    sink        = "sink/"
    checkpoints = "checkpoints/"
    dead_letter = "dead-letter/"
  }

  validation {
    condition     = alltrue([for p in values(var.data_prefixes) : can(regex("^[A-Za-z0-9!_.()-][A-Za-z0-9!_.()/-]*/$", p))])
    error_message = "data_prefixes: each a non-empty S3 prefix ending in /, without wildcards."
  }
}

variable "artifact_read_prefixes" {
  description = "Artifacts bucket prefixes the job reads: entry script, wheels, configs. Each ends in /."
  type        = list(string)
  default     = ["glue/", "wheels/", "configs/"]

  validation {
    condition     = length(var.artifact_read_prefixes) > 0 && alltrue([for p in var.artifact_read_prefixes : can(regex("^[A-Za-z0-9!_.()-][A-Za-z0-9!_.()/-]*/$", p))])
    error_message = "artifact_read_prefixes: non-empty S3 prefixes ending in /, without wildcards."
  }
}

variable "artifact_write_prefixes" {
  description = "Artifacts bucket prefixes the job writes: Spark UI event logs and Glue's temporary directory. Each ends in /."
  type        = list(string)
  default     = ["spark-ui-logs/", "glue-temp/"]

  validation {
    condition     = alltrue([for p in var.artifact_write_prefixes : can(regex("^[A-Za-z0-9!_.()-][A-Za-z0-9!_.()/-]*/$", p))])
    error_message = "artifact_write_prefixes: S3 prefixes ending in /, without wildcards."
  }
}

variable "secret_arn" {
  description = "ARN of the API credentials secret; the only secret the role may read."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.secret_arn))
    error_message = "secret_arn: a Secrets Manager secret ARN."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key; the only key the role may use."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the job publishes its metrics to (the library's DEFAULT_NAMESPACE is ApiEtl). Glue's own namespace \"Glue\" is always allowed for Glue's job metrics."
  type        = string
  default     = "ApiEtl"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace: 1-255 of [A-Za-z0-9._/#:-], not starting with AWS/."
  }
}

variable "log_group_name" {
  description = "The job's log group. The role may write only to it and to the groups Glue derives from its name (`<name>/output`, `<name>/error`, `<name>-<security configuration>`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#-]{1,500}$", var.log_group_name))
    error_message = "log_group_name: 1-500 of [A-Za-z0-9_./#-]."
  }
}

variable "glue_database_name" {
  description = "Glue Data Catalog database the job may read and register tables in."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.glue_database_name))
    error_message = "glue_database_name: 1-255 of [a-z0-9_]."
  }
}

variable "tags" {
  description = "Tags applied to the role."
  type        = map(string)
  default     = {}
}

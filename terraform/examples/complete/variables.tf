variable "name" {
  description = "Base name of every resource (KMS alias, buckets, secret, job, log group, topic, dashboard). Lowercase, it is part of bucket names."
  type        = string
  default     = "api-etl-demo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 of [a-z0-9-], starting with a letter and ending with a letter or digit (bucket names add -artifacts-<account id>)."
  }
}

variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region: an AWS region name such as eu-west-1."
  }
}

variable "wheel_file_name" {
  description = "File name of the library wheel built by `make package` into dist/ and uploaded to wheels/<name>."
  type        = string
  default     = "glue_api_etl-0.1.0-py3-none-any.whl"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.]+-[A-Za-z0-9_.+!]+(-[0-9][A-Za-z0-9_.]*)?-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+\\.whl$", var.wheel_file_name))
    error_message = "wheel_file_name: a wheel file name (name-version-pytag-abitag-platform.whl)."
  }
}

variable "dist_dir" {
  description = "Directory holding the built wheel; null means the repository's dist/ (three levels above this example)."
  type        = string
  default     = null
}

variable "pipeline_config_path" {
  description = "Local pipeline config uploaded to configs/pipeline.yaml; null renders pipeline.yaml.tftpl (beside this file) with the stack's names."
  type        = string
  default     = null

  validation {
    condition     = var.pipeline_config_path == null ? true : can(regex("\\.(ya?ml|json)$", var.pipeline_config_path))
    error_message = "pipeline_config_path: null or a .yaml, .yml or .json file."
  }
}

variable "worker_type" {
  description = "Glue worker type (G.1X, G.2X, G.4X, G.8X)."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type: one of G.1X, G.2X, G.4X, G.8X."
  }
}

variable "number_of_workers" {
  description = "Number of Glue workers."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && floor(var.number_of_workers) == var.number_of_workers
    error_message = "number_of_workers: a whole number, at least 2."
  }
}

variable "execution_class" {
  description = "STANDARD or FLEX."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "FLEX"], var.execution_class)
    error_message = "execution_class: STANDARD or FLEX."
  }
}

variable "schedule_expression" {
  description = "Glue cron expression of the scheduled run (UTC); null creates no schedule (and no no-rows alarm)."
  type        = string
  default     = "cron(0 2 * * ? *)"

  validation {
    condition     = var.schedule_expression == null ? true : can(regex("^cron\\(([^ ]+ ){5}[^ ]+\\)$", var.schedule_expression))
    error_message = "schedule_expression: null or cron(minutes hours day-of-month month day-of-week year)."
  }
}

variable "schedule_enabled" {
  description = "Whether the scheduled trigger is active."
  type        = bool
  default     = false
}

variable "alarm_email_addresses" {
  description = "Email addresses subscribed to the alert topic."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_email_addresses: valid email addresses."
  }
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` empty and delete the buckets (demo teardown). Keep false for real data."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default = {
    Project   = "api-etl"
    ManagedBy = "terraform"
  }
}

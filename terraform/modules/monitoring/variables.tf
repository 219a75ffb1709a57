variable "name" {
  description = "Base name: the SNS topic is `<name>-alerts`, the dashboard `<name>`, alarms and the rule are prefixed with it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,200}$", var.name))
    error_message = "name: 1-200 of [A-Za-z0-9_-]."
  }
}

variable "job_name" {
  description = "Name of the Glue job to watch (value of the JobName dimension)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{1,255}$", var.job_name))
    error_message = "job_name: 1-255 of [A-Za-z0-9_.-]."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the job's own metrics (api_etl.metrics.names.DEFAULT_NAMESPACE = ApiEtl)."
  type        = string
  default     = "ApiEtl"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace: 1-255 of [A-Za-z0-9._/#:-], not starting with AWS/."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key encrypting the SNS topic. Its key policy must let events.amazonaws.com and cloudwatch.amazonaws.com use it (modules/kms does)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN."
  }
}

variable "alarm_email_addresses" {
  description = "Email addresses subscribed to the alert topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_email_addresses: valid email addresses."
  }
}

variable "job_failure_states" {
  description = "Glue job run states that the EventBridge rule forwards to the topic."
  type        = list(string)
  default     = ["FAILED", "TIMEOUT", "ERROR", "STOPPED"]

  validation {
    condition     = length(var.job_failure_states) > 0 && alltrue([for s in var.job_failure_states : contains(["FAILED", "TIMEOUT", "ERROR", "STOPPED", "SUCCEEDED"], s)])
    error_message = "job_failure_states: a non-empty subset of FAILED, TIMEOUT, ERROR, STOPPED, SUCCEEDED."
  }
}

variable "alarm_period_seconds" {
  description = "Period of the job-metric alarms, in seconds."
  type        = number
  default     = 300

  validation {
    condition     = contains([60, 300, 900, 3600], var.alarm_period_seconds)
    error_message = "alarm_period_seconds: 60, 300, 900 or 3600."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive periods over threshold before an alarm fires."
  type        = number
  default     = 1

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 24 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods: a whole number from 1 to 24."
  }
}

variable "failure_ratio_threshold_percent" {
  description = "Alarm when RowsFailed / RowsProcessed (metric math, in %) exceeds this."
  type        = number
  default     = 5

  validation {
    condition     = var.failure_ratio_threshold_percent > 0 && var.failure_ratio_threshold_percent <= 100
    error_message = "failure_ratio_threshold_percent: greater than 0, at most 100."
  }
}

variable "throttled_threshold" {
  description = "Alarm when more than this many responses per period were throttled (HTTP 429)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttled_threshold >= 0
    error_message = "throttled_threshold: 0 or more."
  }
}

variable "latency_p99_threshold_ms" {
  description = "Alarm when the p99 request latency (RequestLatencyP99, maximum over the period) exceeds this many milliseconds."
  type        = number
  default     = 5000

  validation {
    condition     = var.latency_p99_threshold_ms > 0
    error_message = "latency_p99_threshold_ms: greater than 0."
  }
}

variable "no_rows_alarm_enabled" {
  description = "Alarm when no row was processed over no_rows_period_seconds (set it to the schedule's interval). Disable when the job is not scheduled."
  type        = bool
  default     = true
}

variable "no_rows_period_seconds" {
  description = "Window of the no-rows alarm, in seconds: the scheduled interval between runs (daily = 86400)."
  type        = number
  default     = 86400

  validation {
    condition     = var.no_rows_period_seconds >= 3600 && var.no_rows_period_seconds <= 86400 && var.no_rows_period_seconds % 3600 == 0
    error_message = "no_rows_period_seconds: a whole number of hours from 3600 to 86400."
  }
}

variable "glue_failed_tasks_threshold" {
  description = "Alarm when Glue reports more failed Spark tasks than this in a period (glue.driver.aggregate.numFailedTasks)."
  type        = number
  default     = 5

  validation {
    condition     = var.glue_failed_tasks_threshold >= 0
    error_message = "glue_failed_tasks_threshold: 0 or more."
  }
}

variable "jvm_heap_usage_threshold" {
  description = "Alarm when the JVM heap usage of any driver/executor (glue.ALL.jvm.heap.usage, a 0-1 fraction) exceeds this."
  type        = number
  default     = 0.85

  validation {
    condition     = var.jvm_heap_usage_threshold > 0 && var.jvm_heap_usage_threshold < 1
    error_message = "jvm_heap_usage_threshold: a fraction between 0 and 1."
  }
}

variable "tags" {
  description = "Tags applied to the topic, rule and alarms."
  type        = map(string)
  default     = {}
}

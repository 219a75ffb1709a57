variable "alias_name" {
  description = "Alias of the key, without the `alias/` prefix (the root example uses its `name`)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,250}$", var.alias_name)) && !startswith(var.alias_name, "aws/") && !startswith(var.alias_name, "alias/")
    error_message = "alias_name: 1-250 of [a-zA-Z0-9/_-], without the alias/ prefix, not starting with aws/."
  }
}

variable "description" {
  description = "Description of the customer-managed key."
  type        = string
  default     = "Encrypts the api-etl buckets, secret, logs, job bookmarks and alert topic."

  validation {
    condition     = length(var.description) <= 8192
    error_message = "description: at most 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period, in days, before a key scheduled for deletion is deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days: a whole number from 7 to 30."
  }
}

variable "rotation_period_in_days" {
  description = "Automatic key rotation period in days (rotation is always enabled)."
  type        = number
  default     = 365

  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560 && floor(var.rotation_period_in_days) == var.rotation_period_in_days
    error_message = "rotation_period_in_days: a whole number from 90 to 2560."
  }
}

variable "key_user_role_arns" {
  description = "IAM role ARNs allowed to use the key for encryption and decryption (the Glue job role)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.key_user_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "key_user_role_arns: each entry must be an IAM role ARN."
  }
}

variable "cloudwatch_logs_log_group_names" {
  description = "Log group names (a trailing `*` allowed) whose data CloudWatch Logs may encrypt with this key; enforced through the `kms:EncryptionContext:aws:logs:arn` condition."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for n in var.cloudwatch_logs_log_group_names : can(regex("^[A-Za-z0-9_./#*-]{1,512}$", n))])
    error_message = "cloudwatch_logs_log_group_names: log group names of [A-Za-z0-9_./#-], optionally ending in *."
  }
}

variable "sns_publisher_service_principals" {
  description = "AWS service principals that publish to SNS topics encrypted with this key (EventBridge, CloudWatch alarms)."
  type        = list(string)
  default     = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]

  validation {
    condition     = alltrue([for p in var.sns_publisher_service_principals : contains(["events.amazonaws.com", "cloudwatch.amazonaws.com"], p)])
    error_message = "sns_publisher_service_principals: only events.amazonaws.com and cloudwatch.amazonaws.com are supported."
  }
}

variable "allow_s3_server_access_logging" {
  description = "Let the S3 logging service (logging.s3.amazonaws.com) encrypt access logs delivered to a bucket that uses this key."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags applied to the key."
  type        = map(string)
  default     = {}
}

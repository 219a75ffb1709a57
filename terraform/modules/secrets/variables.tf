variable "name" {
  description = "Name of the secret holding the API credentials (the root example uses `<name>/api-credentials`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.name))
    error_message = "name: 1-512 of [A-Za-z0-9/_+=.@-]."
  }
}

variable "description" {
  description = "Description of the secret."
  type        = string
  default     = "Credentials of the external API called by the api-etl Glue job. The value is set out of band, never by Terraform."
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "recovery_window_in_days" {
  description = "Days Secrets Manager keeps a deleted secret recoverable: 0 (delete at once) or 7 to 30."
  type        = number
  default     = 30

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days: 0 or a number from 7 to 30."
  }
}

variable "rotation_lambda_arn" {
  description = "Optional ARN of a rotation Lambda function; null disables rotation (the API's credentials are then rotated by hand, out of band)."
  type        = string
  default     = null

  validation {
    condition     = var.rotation_lambda_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:.+$", var.rotation_lambda_arn))
    error_message = "rotation_lambda_arn: null or a Lambda function ARN."
  }
}

variable "rotation_automatically_after_days" {
  description = "Rotation interval in days, used when rotation_lambda_arn is set."
  type        = number
  default     = 30

  validation {
    condition     = var.rotation_automatically_after_days >= 1 && var.rotation_automatically_after_days <= 1000
    error_message = "rotation_automatically_after_days: from 1 to 1000."
  }
}

variable "tags" {
  description = "Tags applied to the secret."
  type        = map(string)
  default     = {}
}

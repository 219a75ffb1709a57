variable "data_bucket_name" {
  description = "Name of the data bucket (prefixes source/, sink/, checkpoints/, dead-letter/)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.data_bucket_name))
    error_message = "data_bucket_name: 3-63 of [a-z0-9.-], starting and ending with a letter or digit."
  }
}

variable "artifacts_bucket_name" {
  description = "Name of the artifacts bucket (Glue entry script, library wheel, pipeline configs, Spark UI logs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.artifacts_bucket_name))
    error_message = "artifacts_bucket_name: 3-63 of [a-z0-9.-], starting and ending with a letter or digit."
  }
}

variable "access_logs_bucket_name" {
  description = "Name of the bucket receiving S3 server access logs of the data and artifacts buckets."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_logs_bucket_name))
    error_message = "access_logs_bucket_name: 3-63 of [a-z0-9.-], starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for SSE-KMS on every bucket (with S3 Bucket Keys)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn: a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete non-empty buckets (all objects and versions are lost). Keep false outside demos."
  type        = bool
  default     = false
}

variable "lifecycle_rules" {
  description = <<-EOT
    Lifecycle settings per bucket (keys: data, artifacts, access_logs). Every field is optional:
    abort_incomplete_multipart_upload_days, noncurrent_version_expiration_days,
    expiration_days (current versions; null = never), transitions (list of {days, storage_class}).
  EOT
  type = object({
    data = optional(object({
      abort_incomplete_multipart_upload_days = optional(number, 7)
      noncurrent_version_expiration_days     = optional(number, 30)
      expiration_days                        = optional(number)
      transitions = optional(list(object({
        days          = number
        storage_class = string
      })), [])
    }), {})
    artifacts = optional(object({
      abort_incomplete_multipart_upload_days = optional(number, 7)
      noncurrent_version_expiration_days     = optional(number, 90)
      expiration_days                        = optional(number)
      transitions = optional(list(object({
        days          = number
        storage_class = string
      })), [])
    }), {})
    access_logs = optional(object({
      abort_incomplete_multipart_upload_days = optional(number, 7)
      noncurrent_version_expiration_days     = optional(number, 30)
      expiration_days                        = optional(number, 365)
      transitions = optional(list(object({
        days          = number
        storage_class = string
      })), [])
    }), {})
  })
  default = {}

  validation {
    condition = alltrue([
      for rule in values(var.lifecycle_rules) :
      rule.abort_incomplete_multipart_upload_days >= 1 && rule.noncurrent_version_expiration_days >= 1 && (rule.expiration_days == null ? true : rule.expiration_days >= 1)
    ])
    error_message = "lifecycle_rules: day counts must be at least 1."
  }

  validation {
    condition = alltrue(flatten([
      for rule in values(var.lifecycle_rules) : [
        for t in rule.transitions :
        contains(["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], t.storage_class) && t.days >= 0
      ]
    ]))
    error_message = "lifecycle_rules: transitions[].storage_class must be one of STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, with days >= 0."
  }
}

variable "tags" {
  description = "Tags applied to the buckets."
  type        = map(string)
  default     = {}
}

output "job_name" {
  description = "Name of the Glue job."
  value       = aws_glue_job.this.name
}

output "job_arn" {
  description = "ARN of the Glue job."
  value       = aws_glue_job.this.arn
}

output "default_arguments" {
  description = "The job's default arguments."
  value       = aws_glue_job.this.default_arguments
}

output "script_location" {
  description = "S3 URI of the uploaded entry script."
  value       = local.script_uri
}

output "wheel_uri" {
  description = "S3 URI of the uploaded library wheel (--additional-python-modules)."
  value       = local.wheel_uri
}

output "config_uri" {
  description = "S3 URI of the uploaded pipeline config (--config_uri)."
  value       = local.config_uri
}

output "artifact_version_ids" {
  description = "S3 version ids of the uploaded script, wheel and config."
  value = {
    script = aws_s3_object.script.version_id
    wheel  = aws_s3_object.wheel.version_id
    config = aws_s3_object.config.version_id
  }
}

output "log_group_name" {
  description = "The job's log group (Glue also writes to <name>/output and <name>/error)."
  value       = aws_cloudwatch_log_group.this[var.log_group_name].name
}

output "log_group_names" {
  description = "All log groups created for the job."
  value       = sort([for g in aws_cloudwatch_log_group.this : g.name])
}

output "security_configuration_name" {
  description = "Name of the Glue security configuration."
  value       = aws_glue_security_configuration.this.name
}

output "glue_database_name" {
  description = "Name of the Glue Data Catalog database."
  value       = aws_glue_catalog_database.this.name
}

output "trigger_names" {
  description = "Names of the triggers created: schedule, on_demand, after_upstream (null when not created)."
  value = {
    schedule       = one(aws_glue_trigger.schedule[*].name)
    on_demand      = one(aws_glue_trigger.on_demand[*].name)
    after_upstream = one(aws_glue_trigger.after_upstream[*].name)
  }
}

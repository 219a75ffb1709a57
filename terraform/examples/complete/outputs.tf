output "names" {
  description = "Every name the stack derives from var.name (mirrored by localstack/provision)."
  value = {
    kms_alias            = local.kms_alias_name
    data_bucket          = local.data_bucket_name
    artifacts_bucket     = local.artifacts_bucket_name
    access_logs_bucket   = local.access_logs_bucket_name
    secret               = local.secret_name
    job                  = local.job_name
    role                 = local.role_name
    log_group            = local.log_group_name
    glue_database        = local.glue_database_name
    sns_topic            = local.sns_topic_name
    dashboard            = local.dashboard_name
    metrics_namespace    = local.metrics_namespace
    script_key           = local.script_key
    wheel_key            = local.wheel_key
    config_key           = local.config_key
    data_prefix_source   = local.data_prefixes.source
    data_prefix_sink     = local.data_prefixes.sink
    data_prefix_ckpt     = local.data_prefixes.checkpoints
    data_prefix_dead     = local.data_prefixes.dead_letter
    spark_ui_logs_prefix = local.spark_ui_logs_prefix
    temp_dir_prefix      = local.temp_dir_prefix
  }
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key."
  value       = module.kms.key_arn
}

output "kms_alias" {
  description = "Alias of the customer-managed key."
  value       = module.kms.alias_name
}

output "data_bucket_name" {
  description = "Data bucket (source/, sink/, checkpoints/, dead-letter/)."
  value       = module.storage.data_bucket_name
}

output "artifacts_bucket_name" {
  description = "Artifacts bucket (glue/job.py, wheels/, configs/pipeline.yaml)."
  value       = module.storage.artifacts_bucket_name
}

output "access_logs_bucket_name" {
  description = "Access-logs bucket."
  value       = module.storage.access_logs_bucket_name
}

output "data_prefixes" {
  description = "Prefixes of the data bucket."
  value       = local.data_prefixes
}

output "secret_arn" {
  description = "ARN of the API credentials secret (set its value out of band, see README)."
  value       = module.secrets.secret_arn
}

output "secret_name" {
  description = "Name of the API credentials secret."
  value       = module.secrets.secret_name
}

output "job_name" {
  description = "Name of the Glue job."
  value       = module.glue_job.job_name
}

output "job_role_arn" {
  description = "ARN of the Glue job role."
  value       = module.iam.role_arn
}

output "config_uri" {
  description = "S3 URI of the pipeline config (--config_uri)."
  value       = module.glue_job.config_uri
}

output "wheel_uri" {
  description = "S3 URI of the library wheel (--additional-python-modules)."
  value       = module.glue_job.wheel_uri
}

output "script_location" {
  description = "S3 URI of the Glue entry script."
  value       = module.glue_job.script_location
}

output "log_group_name" {
  description = "The job's log group."
  value       = module.glue_job.log_group_name
}

output "glue_database_name" {
  description = "Glue Data Catalog database."
  value       = module.glue_job.glue_database_name
}

output "trigger_names" {
  description = "Glue triggers (schedule, on_demand, after_upstream)."
  value       = module.glue_job.trigger_names
}

output "sns_topic_arn" {
  description = "ARN of the alert topic."
  value       = module.monitoring.topic_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.monitoring.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard."
  value       = module.monitoring.dashboard_url
}

output "metrics_namespace" {
  description = "CloudWatch namespace of the job's metrics."
  value       = local.metrics_namespace
}

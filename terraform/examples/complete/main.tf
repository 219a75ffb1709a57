provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_caller_identity" "current" {}

# Every name the stack uses, derived from var.name. localstack/provision mirrors these
# (a test reads both), and the outputs expose them.
locals {
  account_id = data.aws_caller_identity.current.account_id
  repo_root  = "${path.module}/../../.."

  kms_alias_name          = "alias/${var.name}"
  data_bucket_name        = "${var.name}-data-${local.account_id}"
  artifacts_bucket_name   = "${var.name}-artifacts-${local.account_id}"
  access_logs_bucket_name = "${var.name}-access-logs-${local.account_id}"
  secret_name             = "${var.name}/api-credentials"
  job_name                = "${var.name}-job"
  role_name               = "${var.name}-glue-job"
  log_group_name          = "/aws-glue/jobs/${var.name}"
  glue_database_name      = "${replace(var.name, "-", "_")}_db"
  sns_topic_name          = "${var.name}-alerts"
  dashboard_name          = var.name
  metrics_namespace       = "ApiEtl"

  data_prefixes = {
    source      = "source/"
    sink        = "sink/"
    checkpoints = "checkpoints/"
    dead_letter = "dead-letter/"
  }

  script_key = "glue/job.py"
  wheel_key  = "wheels/${var.wheel_file_name}"
  config_key = "configs/pipeline.yaml"

  spark_ui_logs_prefix = "spark-ui-logs/"
  temp_dir_prefix      = "glue-temp/"

  script_source_path = "${local.repo_root}/glue_job/job.py"
  wheel_source_path  = "${coalesce(var.dist_dir, "${local.repo_root}/dist")}/${var.wheel_file_name}"

  # The default config is rendered from pipeline.yaml.tftpl with this stack's names.
  config_content = var.pipeline_config_path != null ? null : templatefile("${path.module}/pipeline.yaml.tftpl", {
    artifacts_bucket   = local.artifacts_bucket_name
    data_bucket        = local.data_bucket_name
    source_prefix      = local.data_prefixes.source
    sink_prefix        = local.data_prefixes.sink
    checkpoints_prefix = local.data_prefixes.checkpoints
    dead_letter_prefix = local.data_prefixes.dead_letter
    secret_name        = local.secret_name
    metrics_namespace  = local.metrics_namespace
    job_name           = local.job_name
  })

  config_uri = "s3://${local.artifacts_bucket_name}/${local.config_key}"
  wheel_uri  = "s3://${local.artifacts_bucket_name}/${local.wheel_key}"
  script_uri = "s3://${local.artifacts_bucket_name}/${local.script_key}"
}

module "kms" {
  source = "../../modules/kms"

  alias_name                      = var.name
  key_user_role_arns              = [module.iam.role_arn]
  cloudwatch_logs_log_group_names = ["${local.log_group_name}*"]
}

module "storage" {
  source = "../../modules/storage"

  data_bucket_name        = local.data_bucket_name
  artifacts_bucket_name   = local.artifacts_bucket_name
  access_logs_bucket_name = local.access_logs_bucket_name
  kms_key_arn             = module.kms.key_arn
  force_destroy           = var.force_destroy_buckets
}

module "secrets" {
  source = "../../modules/secrets"

  name        = local.secret_name
  kms_key_arn = module.kms.key_arn
}

module "iam" {
  source = "../../modules/iam"

  role_name               = local.role_name
  data_bucket_arn         = module.storage.data_bucket_arn
  artifacts_bucket_arn    = module.storage.artifacts_bucket_arn
  data_prefixes           = local.data_prefixes
  artifact_read_prefixes  = [for key in [local.script_key, local.wheel_key, local.config_key] : "${dirname(key)}/"]
  artifact_write_prefixes = [local.spark_ui_logs_prefix, local.temp_dir_prefix]
  secret_arn              = module.secrets.secret_arn
  kms_key_arn             = module.kms.key_arn
  metrics_namespace       = local.metrics_namespace
  log_group_name          = local.log_group_name
  glue_database_name      = local.glue_database_name
}

module "glue_job" {
  source = "../../modules/glue_job"

  job_name              = local.job_name
  role_arn              = module.iam.role_arn
  kms_key_arn           = module.kms.key_arn
  artifacts_bucket_name = module.storage.artifacts_bucket_name
  script_s3_key         = local.script_key
  script_source_path    = local.script_source_path
  wheel_s3_key          = local.wheel_key
  wheel_source_path     = local.wheel_source_path
  config_s3_key         = local.config_key
  config_source_path    = var.pipeline_config_path
  config_content        = local.config_content
  spark_ui_logs_prefix  = local.spark_ui_logs_prefix
  temp_dir_prefix       = local.temp_dir_prefix
  log_group_name        = local.log_group_name
  glue_database_name    = local.glue_database_name
  worker_type           = var.worker_type
  number_of_workers     = var.number_of_workers
  execution_class       = var.execution_class
  schedule_expression   = var.schedule_expression
  schedule_enabled      = var.schedule_enabled
}

module "monitoring" {
  source = "../../modules/monitoring"

  name                  = var.name
  job_name              = module.glue_job.job_name
  metrics_namespace     = local.metrics_namespace
  kms_key_arn           = module.kms.key_arn
  alarm_email_addresses = var.alarm_email_addresses
  no_rows_alarm_enabled = var.schedule_expression != null && var.schedule_enabled
}

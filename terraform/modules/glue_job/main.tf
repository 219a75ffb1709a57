locals {
  glue_version                = "5.0" # Spark 3.5.4, Python 3.11: the versions the library is tested with.
  security_configuration_name = coalesce(var.security_configuration_name, "${var.job_name}-security")

  artifacts_uri = "s3://${var.artifacts_bucket_name}"
  script_uri    = "${local.artifacts_uri}/${aws_s3_object.script.key}"
  wheel_uri     = "${local.artifacts_uri}/${aws_s3_object.wheel.key}"
  config_uri    = "${local.artifacts_uri}/${aws_s3_object.config.key}"

  # Glue 5.0 writes driver/executor logs to "<prefix>/output" and "<prefix>/error" when
  # --custom-logGroup-prefix is set; all three groups are created here, encrypted and retained.
  log_group_names = toset([var.log_group_name, "${var.log_group_name}/output", "${var.log_group_name}/error"])

  # Spark task slots of the cluster: one worker runs the driver, each other one executor with
  # a core per vCPU. The job shares its rate limit by at least this many tasks, so executors
  # that register after the run starts (or auto scaling) cannot multiply the limit.
  vcpus_per_worker = { "G.1X" = 4, "G.2X" = 8, "G.4X" = 16, "G.8X" = 32 }
  cluster_slots    = (var.number_of_workers - 1) * local.vcpus_per_worker[var.worker_type]

  # Arguments this module manages; they take precedence over var.extra_default_arguments.
  managed_arguments = {
    "--job-language"                     = "python"
    "--config_uri"                       = local.config_uri
    "--cluster_slots"                    = tostring(local.cluster_slots)
    "--additional-python-modules"        = local.wheel_uri
    "--enable-metrics"                   = "true"
    "--enable-observability-metrics"     = "true"
    "--enable-continuous-cloudwatch-log" = "true"
    "--continuous-log-logGroup"          = var.log_group_name
    "--enable-continuous-log-filter"     = "true"
    "--custom-logGroup-prefix"           = var.log_group_name
    "--enable-job-insights"              = "true"
    "--enable-spark-ui"                  = "true"
    "--spark-event-logs-path"            = "${local.artifacts_uri}/${var.spark_ui_logs_prefix}"
    "--TempDir"                          = "${local.artifacts_uri}/${var.temp_dir_prefix}"
    "--enable-glue-datacatalog"          = "true"
    # The job checkpoints each batch itself; Glue bookmarks would skip source files on reruns.
    "--job-bookmark-option" = "job-bookmark-disable"
  }

  optional_arguments = var.python_modules_installer_option == null ? {} : {
    "--python-modules-installer-option" = var.python_modules_installer_option
  }

  default_arguments = merge(var.extra_default_arguments, local.optional_arguments, local.managed_arguments)
}

resource "aws_glue_catalog_database" "this" {
  name        = var.glue_database_name
  description = "Tables written by the ${var.job_name} Glue job (bronze sink)."
  tags        = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.log_group_names

  name              = each.value
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_glue_security_configuration" "this" {
  name = local.security_configuration_name

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
}

# Artifacts: each upload is keyed on the file's content hash, so a changed file is uploaded
# again and, the bucket being versioned, becomes a new object version. (source_hash, not
# etag: with SSE-KMS an object's ETag is not the MD5 of its content.)
resource "aws_s3_object" "script" {
  bucket                 = var.artifacts_bucket_name
  key                    = var.script_s3_key
  source                 = var.script_source_path
  source_hash            = filemd5(var.script_source_path)
  content_type           = "text/x-python"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  bucket_key_enabled     = true
  tags                   = var.tags
}

resource "aws_s3_object" "wheel" {
  bucket                 = var.artifacts_bucket_name
  key                    = var.wheel_s3_key
  source                 = var.wheel_source_path
  source_hash            = filemd5(var.wheel_source_path)
  content_type           = "application/zip"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  bucket_key_enabled     = true
  tags                   = var.tags
}

resource "aws_s3_object" "config" {
  bucket                 = var.artifacts_bucket_name
  key                    = var.config_s3_key
  source                 = var.config_source_path
  source_hash            = var.config_source_path == null ? null : filemd5(var.config_source_path)
  content                = var.config_content
  content_type           = endswith(var.config_s3_key, ".json") ? "application/json" : "application/yaml"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn
  bucket_key_enabled     = true
  tags                   = var.tags

  lifecycle {
    precondition {
      condition     = (var.config_source_path == null) != (var.config_content == null)
      error_message = "Give exactly one of config_source_path and config_content."
    }
  }
}

resource "aws_glue_job" "this" {
  name                    = var.job_name
  description             = var.description
  role_arn                = var.role_arn
  glue_version            = local.glue_version
  worker_type             = var.worker_type
  number_of_workers       = var.number_of_workers
  timeout                 = var.timeout_minutes
  max_retries             = var.max_retries
  execution_class         = var.execution_class
  job_run_queuing_enabled = var.job_run_queuing_enabled
  security_configuration  = aws_glue_security_configuration.this.name
  default_arguments       = local.default_arguments
  tags                    = var.tags

  command {
    name            = "glueetl"
    script_location = local.script_uri
    python_version  = "3"
  }

  execution_property {
    max_concurrent_runs = var.max_concurrent_runs
  }

  dynamic "notification_property" {
    for_each = var.notify_delay_after_minutes == null ? [] : [var.notify_delay_after_minutes]

    content {
      notify_delay_after = notification_property.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.execution_class != "FLEX" || contains(["G.1X", "G.2X"], var.worker_type)
      error_message = "FLEX execution supports only the G.1X and G.2X worker types."
    }

    precondition {
      condition     = !(var.job_run_queuing_enabled && var.execution_class == "FLEX")
      error_message = "Job run queuing cannot be combined with the FLEX execution class."
    }

    precondition {
      condition     = !(var.job_run_queuing_enabled && var.max_retries > 0)
      error_message = "Job run queuing cannot be combined with max_retries > 0."
    }
  }

  depends_on = [aws_cloudwatch_log_group.this]
}

resource "aws_glue_trigger" "schedule" {
  count = var.schedule_expression == null ? 0 : 1

  name     = "${var.job_name}-schedule"
  type     = "SCHEDULED"
  schedule = var.schedule_expression
  enabled  = var.schedule_enabled
  tags     = var.tags

  actions {
    job_name  = aws_glue_job.this.name
    arguments = var.trigger_arguments

    dynamic "notification_property" {
      for_each = var.notify_delay_after_minutes == null ? [] : [var.notify_delay_after_minutes]

      content {
        notify_delay_after = notification_property.value
      }
    }
  }
}

resource "aws_glue_trigger" "on_demand" {
  count = var.create_on_demand_trigger ? 1 : 0

  name = "${var.job_name}-on-demand"
  type = "ON_DEMAND"
  tags = var.tags

  actions {
    job_name  = aws_glue_job.this.name
    arguments = var.trigger_arguments
  }
}

resource "aws_glue_trigger" "after_upstream" {
  count = var.upstream_job_name == null ? 0 : 1

  name = "${var.job_name}-after-${var.upstream_job_name}"
  type = "CONDITIONAL"
  tags = var.tags

  actions {
    job_name  = aws_glue_job.this.name
    arguments = var.trigger_arguments
  }

  predicate {
    logical = "AND"

    conditions {
      job_name         = var.upstream_job_name
      state            = var.upstream_job_state
      logical_operator = "EQUALS"
    }
  }
}

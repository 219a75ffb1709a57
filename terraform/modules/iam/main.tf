data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  data_write_prefixes = [var.data_prefixes.sink, var.data_prefixes.checkpoints, var.data_prefixes.dead_letter]
  data_list_prefixes  = concat([var.data_prefixes.source], local.data_write_prefixes)

  # s3:prefix values a ListObjects call may carry for a prefix "p/": "p", "p/" and anything below.
  data_list_patterns     = flatten([for p in local.data_list_prefixes : [trimsuffix(p, "/"), "${p}*"]])
  artifact_list_patterns = flatten([for p in var.artifact_write_prefixes : [trimsuffix(p, "/"), "${p}*"]])

  catalog_arn  = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${var.glue_database_name}"
  # Spark's Glue catalog client looks up the "default" database when it starts.
  default_database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/default"
  tables_arn           = "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${var.glue_database_name}/*"

  # The group itself, the groups Glue derives from its name, and their streams.
  log_group_arn_pattern = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${var.log_group_name}*"
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "GlueAssumesRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "Role of the api-etl Glue job: least privilege on its buckets, secret, key, metrics, logs and catalog database."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "job" {
  statement {
    sid       = "ReadJobArtifacts"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [for p in var.artifact_read_prefixes : "${var.artifacts_bucket_arn}/${p}*"]
  }

  dynamic "statement" {
    for_each = length(var.artifact_write_prefixes) > 0 ? [1] : []

    content {
      sid       = "ListArtifactScratchPrefixes"
      effect    = "Allow"
      actions   = ["s3:ListBucket"]
      resources = [var.artifacts_bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = local.artifact_list_patterns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.artifact_write_prefixes) > 0 ? [1] : []

    content {
      sid       = "WriteSparkUiLogsAndTemp"
      effect    = "Allow"
      actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
      resources = [for p in var.artifact_write_prefixes : "${var.artifacts_bucket_arn}/${p}*"]
    }
  }

  statement {
    sid       = "ListDataPrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.data_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.data_list_patterns
    }
  }

  statement {
    sid       = "ReadSource"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.data_bucket_arn}/${var.data_prefixes.source}*"]
  }

  statement {
    sid       = "WriteSinkCheckpointsDeadLetter"
    effect    = "Allow"
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = [for p in local.data_write_prefixes : "${var.data_bucket_arn}/${p}*"]
  }

  statement {
    sid       = "ReadApiCredentials"
    effect    = "Allow"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [var.secret_arn]
  }

  statement {
    sid       = "UseStackKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # PutMetricData has no resource-level permissions: "*" is the only resource AWS accepts.
  # The namespace condition limits it to the job's namespace and Glue's own job metrics.
  statement {
    sid       = "PutJobMetrics"
    effect    = "Allow"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = distinct([var.metrics_namespace, "Glue"])
    }
  }

  statement {
    sid    = "WriteJobLogs"
    effect = "Allow"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [local.log_group_arn_pattern]
  }

  statement {
    sid    = "UseCatalogDatabase"
    effect = "Allow"
    actions = [
      "glue:BatchCreatePartition",
      "glue:BatchGetPartition",
      "glue:CreatePartition",
      "glue:CreateTable",
      "glue:GetDatabase",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdatePartition",
      "glue:UpdateTable",
    ]
    resources = [local.catalog_arn, local.database_arn, local.tables_arn]
  }

  statement {
    sid       = "ReadDefaultDatabase"
    effect    = "Allow"
    actions   = ["glue:GetDatabase"]
    resources = [local.catalog_arn, local.default_database_arn]
  }
}

resource "aws_iam_role_policy" "job" {
  name   = "${var.role_name}-least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.job.json
}

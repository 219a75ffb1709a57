data "aws_caller_identity" "current" {}

locals {
  buckets = {
    data        = var.data_bucket_name
    artifacts   = var.artifacts_bucket_name
    access_logs = var.access_logs_bucket_name
  }

  # Buckets whose server access logs go to the access-logs bucket (it does not log itself).
  logged_buckets = { for k, v in local.buckets : k => v if k != "access_logs" }

  data_prefixes = {
    source      = "source/"
    sink        = "sink/"
    checkpoints = "checkpoints/"
    dead_letter = "dead-letter/"
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice left to the operator; the data can be re-derived by rerunning the job.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications exists; the job is started by Glue triggers.
  #checkov:skip=CKV_AWS_18:checkov cannot follow aws_s3_bucket_logging.this through for_each. data and artifacts log to the access-logs bucket (asserted in tests/terraform); the access-logs bucket must not log into itself.
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Purpose = each.key })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = local.logged_buckets

  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = aws_s3_bucket.this["access_logs"].id
  target_prefix = "${each.value}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.lifecycle_rules[each.key].abort_incomplete_multipart_upload_days
    }
  }

  # One rule for versions and storage classes; the optional actions are nested dynamic blocks
  # (a rule always keeps its noncurrent-version expiration, so it is never empty).
  rule {
    id     = "versions-and-transitions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.lifecycle_rules[each.key].noncurrent_version_expiration_days
    }

    dynamic "expiration" {
      for_each = var.lifecycle_rules[each.key].expiration_days == null ? [] : [var.lifecycle_rules[each.key].expiration_days]

      content {
        days = expiration.value
      }
    }

    dynamic "transition" {
      for_each = var.lifecycle_rules[each.key].transitions

      content {
        days          = transition.value.days
        storage_class = transition.value.storage_class
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = each.key == "access_logs" ? [1] : []

    content {
      sid       = "AllowS3ServerAccessLogDelivery"
      effect    = "Allow"
      actions   = ["s3:PutObject"]
      resources = ["${each.value.arn}/*"]

      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = [for k, _ in local.logged_buckets : aws_s3_bucket.this[k].arn]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

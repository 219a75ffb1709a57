# Only the secret's metadata is managed here. Its value is written out of band
# (`aws secretsmanager put-secret-value`, see README), so no credential ever lands in the
# Terraform state or plan: this module deliberately has no aws_secretsmanager_secret_version.
resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:The credentials belong to an external API; rotation needs a vendor-specific Lambda, wired through var.rotation_lambda_arn when one exists.
  name                    = var.name
  description             = var.description
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_rotation" "this" {
  count = var.rotation_lambda_arn == null ? 0 : 1

  secret_id           = aws_secretsmanager_secret.this.id
  rotation_lambda_arn = var.rotation_lambda_arn

  rotation_rules {
    automatically_after_days = var.rotation_automatically_after_days
  }
}

output "secret_arn" {
  description = "ARN of the API credentials secret."
  value       = aws_secretsmanager_secret.this.arn
}

output "secret_name" {
  description = "Name of the API credentials secret."
  value       = aws_secretsmanager_secret.this.name
}

output "rotation_enabled" {
  description = "Whether a rotation Lambda is attached."
  value       = var.rotation_lambda_arn != null
}

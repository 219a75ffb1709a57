output "bucket_names" {
  description = "Bucket names by role: data, artifacts, access_logs."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "bucket_arns" {
  description = "Bucket ARNs by role: data, artifacts, access_logs."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "data_bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.this["data"].bucket
}

output "data_bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.this["data"].arn
}

output "artifacts_bucket_name" {
  description = "Name of the artifacts bucket. Depends on its encryption, versioning and policy, so objects uploaded to it are encrypted and versioned from the first one."
  value       = aws_s3_bucket.this["artifacts"].bucket
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_policy.this,
  ]
}

output "artifacts_bucket_arn" {
  description = "ARN of the artifacts bucket."
  value       = aws_s3_bucket.this["artifacts"].arn
}

output "access_logs_bucket_name" {
  description = "Name of the access-logs bucket."
  value       = aws_s3_bucket.this["access_logs"].bucket
}

output "data_prefixes" {
  description = "Prefixes of the data bucket: source, sink, checkpoints, dead_letter (each ends in /)."
  value       = local.data_prefixes
}

output "role_arn" {
  description = "ARN of the Glue job role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the Glue job role."
  value       = aws_iam_role.this.name
}

output "policy_json" {
  description = "The role's inline least-privilege policy document."
  value       = data.aws_iam_policy_document.job.json
}

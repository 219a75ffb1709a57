output "key_arn" {
  description = "ARN of the customer-managed key. Available once the key policy is attached, so log groups and topics encrypted with it are created after the policy allows them."
  value       = aws_kms_key.this.arn
  depends_on  = [aws_kms_key_policy.this]
}

output "key_id" {
  description = "ID of the customer-managed key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Full alias name (`alias/...`)."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "ARN of the alias."
  value       = aws_kms_alias.this.arn
}

output "key_policy_json" {
  description = "The key policy document attached to the key."
  value       = data.aws_iam_policy_document.key.json
}

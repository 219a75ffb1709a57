output "topic_arn" {
  description = "ARN of the alert topic."
  value       = aws_sns_topic.alerts.arn
}

output "topic_name" {
  description = "Name of the alert topic."
  value       = aws_sns_topic.alerts.name
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "Console URL of the dashboard."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "alarm_arns" {
  description = "ARNs of every alarm created."
  value       = local.alarm_arns
}

output "event_rule_arn" {
  description = "ARN of the EventBridge rule forwarding failed job runs to the topic."
  value       = aws_cloudwatch_event_rule.job_state.arn
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  topic_name = "${var.name}-alerts"
  alarm_arns = concat(
    [
      aws_cloudwatch_metric_alarm.failure_ratio.arn,
      aws_cloudwatch_metric_alarm.throttled.arn,
      aws_cloudwatch_metric_alarm.latency_p99.arn,
      aws_cloudwatch_metric_alarm.glue_failed_tasks.arn,
      aws_cloudwatch_metric_alarm.glue_jvm_heap.arn,
    ],
    aws_cloudwatch_metric_alarm.no_rows_processed[*].arn,
  )

  # Dashboard widgets. Every metric entry is [namespace, metric name, dimension, value, {options}];
  # the job's names come from api_etl.metrics.names (a test checks each one against the library).
  dashboard_widgets = [
    {
      type   = "metric"
      x      = 0
      y      = 0
      width  = 12
      height = 6
      properties = {
        title  = "Throughput"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          [var.metrics_namespace, "RowsProcessed", "JobName", var.job_name, { stat = "Sum", label = "Rows processed" }],
          [var.metrics_namespace, "RowsPerSecond", "JobName", var.job_name, { stat = "Average", label = "Rows per second", yAxis = "right" }],
        ]
      }
    },
    {
      type   = "metric"
      x      = 12
      y      = 0
      width  = 12
      height = 6
      properties = {
        title   = "Outcomes"
        region  = local.region
        view    = "timeSeries"
        stacked = false
        period  = 60
        metrics = [
          [var.metrics_namespace, "RowsSucceeded", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "RowsFailed", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "Retries", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "Throttled", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "Status2xx", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "Status4xx", "JobName", var.job_name, { stat = "Sum" }],
          [var.metrics_namespace, "Status5xx", "JobName", var.job_name, { stat = "Sum" }],
        ]
      }
    },
    {
      type   = "metric"
      x      = 0
      y      = 6
      width  = 12
      height = 6
      properties = {
        title  = "Request latency (ms)"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          [var.metrics_namespace, "RequestLatencyP50", "JobName", var.job_name, { stat = "Average", label = "p50" }],
          [var.metrics_namespace, "RequestLatencyP95", "JobName", var.job_name, { stat = "Average", label = "p95" }],
          [var.metrics_namespace, "RequestLatencyP99", "JobName", var.job_name, { stat = "Maximum", label = "p99" }],
          [var.metrics_namespace, "RequestLatencyMax", "JobName", var.job_name, { stat = "Maximum", label = "max" }],
        ]
        annotations = {
          horizontal = [{ label = "p99 alarm", value = var.latency_p99_threshold_ms }]
        }
      }
    },
    {
      type   = "metric"
      x      = 12
      y      = 6
      width  = 12
      height = 6
      properties = {
        title  = "Failure ratio (%)"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [{ expression = "IF(processed > 0, 100 * failed / processed, 0)", id = "ratio", label = "Failed / processed (%)" }],
          [var.metrics_namespace, "RowsFailed", "JobName", var.job_name, { stat = "Sum", id = "failed", visible = false }],
          [var.metrics_namespace, "RowsProcessed", "JobName", var.job_name, { stat = "Sum", id = "processed", visible = false }],
        ]
        annotations = {
          horizontal = [{ label = "alarm", value = var.failure_ratio_threshold_percent }]
        }
      }
    },
    {
      type   = "metric"
      x      = 0
      y      = 12
      width  = 12
      height = 6
      properties = {
        title  = "Batches"
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [
          [var.metrics_namespace, "BatchesCompleted", "JobName", var.job_name, { stat = "Sum", label = "Batches completed" }],
          [var.metrics_namespace, "BatchDuration", "JobName", var.job_name, { stat = "Average", label = "Batch duration avg (s)", yAxis = "right" }],
          [var.metrics_namespace, "BatchDuration", "JobName", var.job_name, { stat = "Maximum", label = "Batch duration max (s)", yAxis = "right" }],
        ]
      }
    },
    {
      type   = "metric"
      x      = 12
      y      = 12
      width  = 12
      height = 6
      properties = {
        title  = "Glue resources"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          ["Glue", "glue.ALL.jvm.heap.usage", "JobName", var.job_name, "JobRunId", "ALL", "Type", "gauge", { stat = "Maximum", label = "JVM heap usage (all)" }],
          ["Glue", "glue.ALL.system.cpuSystemLoad", "JobName", var.job_name, "JobRunId", "ALL", "Type", "gauge", { stat = "Average", label = "CPU load (all)" }],
          ["Glue", "glue.driver.ExecutorAllocationManager.executors.numberAllExecutors", "JobName", var.job_name, "JobRunId", "ALL", "Type", "gauge", { stat = "Maximum", label = "Executors", yAxis = "right" }],
          ["Glue", "glue.driver.aggregate.numFailedTasks", "JobName", var.job_name, "JobRunId", "ALL", "Type", "count", { stat = "Sum", label = "Failed tasks", yAxis = "right" }],
        ]
      }
    },
    {
      # Only a rate-limited job publishes these: a long wait means the limit is what holds
      # the job back; slots given up mean workers short of CPU left allowed requests unsent.
      type   = "metric"
      x      = 0
      y      = 18
      width  = 24
      height = 6
      properties = {
        title  = "Rate limit"
        region = local.region
        view   = "timeSeries"
        period = 60
        metrics = [
          [var.metrics_namespace, "RateLimitWait", "JobName", var.job_name, { stat = "Average", label = "Mean wait for a slot (ms)" }],
          [var.metrics_namespace, "RateLimitLateSlots", "JobName", var.job_name, { stat = "Sum", label = "Slots given up by busy workers", yAxis = "right" }],
        ]
      }
    },
    {
      type   = "alarm"
      x      = 0
      y      = 24
      width  = 24
      height = 4
      properties = {
        title  = "Alarms"
        alarms = local.alarm_arns
      }
    },
  ]
}

# --- Alert topic -------------------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  name              = local.topic_name
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid    = "AccountManagesTopic"
    effect = "Allow"
    actions = [
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
      "sns:Publish",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
    ]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "EventBridgePublishesJobStateChanges"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.job_state.arn]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_email_addresses)

  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = each.value
}

# --- Glue job state changes -> topic ---------------------------------------------------

resource "aws_cloudwatch_event_rule" "job_state" {
  name        = "${var.name}-glue-job-state"
  description = "Runs of ${var.job_name} that end in ${join(", ", var.job_failure_states)}."
  event_pattern = jsonencode({
    source        = ["aws.glue"]
    "detail-type" = ["Glue Job State Change"]
    detail = {
      jobName = [var.job_name]
      state   = var.job_failure_states
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "job_state_to_topic" {
  rule      = aws_cloudwatch_event_rule.job_state.name
  target_id = "alerts-topic"
  arn       = aws_sns_topic.alerts.arn

  input_transformer {
    input_paths = {
      job     = "$.detail.jobName"
      run     = "$.detail.jobRunId"
      state   = "$.detail.state"
      message = "$.detail.message"
    }
    input_template = "\"Glue job <job> run <run> ended in state <state>: <message>\""
  }
}

# --- Alarms on the job's own metrics (namespace var.metrics_namespace) ---------------------

resource "aws_cloudwatch_metric_alarm" "failure_ratio" {
  alarm_name          = "${var.name}-failure-ratio"
  alarm_description   = "More than ${var.failure_ratio_threshold_percent}% of the rows processed by ${var.job_name} failed."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.failure_ratio_threshold_percent
  evaluation_periods  = var.alarm_evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags

  metric_query {
    id          = "ratio"
    expression  = "IF(processed > 0, 100 * failed / processed, 0)"
    label       = "Failed rows (%)"
    return_data = true
  }

  metric_query {
    id = "failed"

    metric {
      namespace   = var.metrics_namespace
      metric_name = "RowsFailed"
      dimensions  = { JobName = var.job_name }
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }

  metric_query {
    id = "processed"

    metric {
      namespace   = var.metrics_namespace
      metric_name = "RowsProcessed"
      dimensions  = { JobName = var.job_name }
      period      = var.alarm_period_seconds
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "throttled" {
  alarm_name          = "${var.name}-throttled"
  alarm_description   = "The API answered 429 to more than ${var.throttled_threshold} requests of ${var.job_name} in ${var.alarm_period_seconds} s: lower the rate limit."
  namespace           = var.metrics_namespace
  metric_name         = "Throttled"
  dimensions          = { JobName = var.job_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.throttled_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "latency_p99" {
  alarm_name          = "${var.name}-latency-p99"
  alarm_description   = "p99 request latency of ${var.job_name} above ${var.latency_p99_threshold_ms} ms."
  namespace           = var.metrics_namespace
  metric_name         = "RequestLatencyP99"
  dimensions          = { JobName = var.job_name }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.latency_p99_threshold_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "no_rows_processed" {
  count = var.no_rows_alarm_enabled ? 1 : 0

  alarm_name          = "${var.name}-no-rows-processed"
  alarm_description   = "${var.job_name} processed no row in the last ${var.no_rows_period_seconds / 3600} h: the scheduled run did not run or read nothing."
  namespace           = var.metrics_namespace
  metric_name         = "RowsProcessed"
  dimensions          = { JobName = var.job_name }
  statistic           = "Sum"
  period              = var.no_rows_period_seconds
  evaluation_periods  = 1
  comparison_operator = "LessThanThreshold"
  threshold           = 1
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# --- Alarms on Glue's job metrics (namespace "Glue", needs --enable-metrics) ---------------

resource "aws_cloudwatch_metric_alarm" "glue_failed_tasks" {
  alarm_name          = "${var.name}-glue-failed-tasks"
  alarm_description   = "More than ${var.glue_failed_tasks_threshold} Spark tasks of ${var.job_name} failed in ${var.alarm_period_seconds} s."
  namespace           = "Glue"
  metric_name         = "glue.driver.aggregate.numFailedTasks"
  dimensions          = { JobName = var.job_name, JobRunId = "ALL", Type = "count" }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.glue_failed_tasks_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "glue_jvm_heap" {
  alarm_name          = "${var.name}-glue-jvm-heap"
  alarm_description   = "JVM heap usage of a ${var.job_name} driver or executor above ${var.jvm_heap_usage_threshold * 100}%."
  namespace           = "Glue"
  metric_name         = "glue.ALL.jvm.heap.usage"
  dimensions          = { JobName = var.job_name, JobRunId = "ALL", Type = "gauge" }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.jvm_heap_usage_threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = var.tags
}

# --- Dashboard -------------------------------------------------------------------------

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

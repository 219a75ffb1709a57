# Terraform override for LocalStack (users who have the LocalStack image and the AWS provider).
#
#   cp localstack/terraform/localstack_override.tf terraform/examples/complete/
#   cd terraform/examples/complete && terraform init && terraform apply
#
# Terraform merges *_override.tf files into the configuration: this provider block replaces
# the example's credentials, endpoints and account checks so every call goes to LocalStack
# on http://localhost:4566. Delete the copy to deploy to AWS again (it is git-ignored there).
# LocalStack's free edition has no Glue: the glue_job module needs LocalStack Pro; moto's
# server (the project's embedded default, see localstack/README) lacks UpdateJob/UpdateTrigger,
# so changed Glue resources need `terraform apply -replace=...` there.
provider "aws" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"

  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true

  endpoints {
    cloudwatch     = "http://localhost:4566"
    eventbridge    = "http://localhost:4566"
    glue           = "http://localhost:4566"
    iam            = "http://localhost:4566"
    kms            = "http://localhost:4566"
    logs           = "http://localhost:4566"
    s3             = "http://s3.localhost.localstack.cloud:4566"
    secretsmanager = "http://localhost:4566"
    sns            = "http://localhost:4566"
    sts            = "http://localhost:4566"
  }
}

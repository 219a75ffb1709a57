terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Schema-checked offline against hashicorp/aws 6.69.1 (scripts/terraform_checks).
      version = ">= 6.69.1, < 7.0.0"
    }
  }
}

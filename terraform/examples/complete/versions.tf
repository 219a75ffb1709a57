terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Pinned to the exact version the offline schema check validates against
      # (cdktn-provider-aws 25.8.1 = hashicorp/aws 6.69.1; see terraform/README.md).
      version = "6.69.1"
    }
  }
}

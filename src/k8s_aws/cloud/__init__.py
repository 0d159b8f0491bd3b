"""The AWS boundary: the only product package that imports boto3 and botocore."""

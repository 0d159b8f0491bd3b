"""Pure planning for Nodes: provider ids, name mapping, initialization and lifecycle decisions.

Never imports boto3 or the Kubernetes client: records in, decisions out.
"""

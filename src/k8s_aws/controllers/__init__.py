"""Orchestration: informers feed work queues, workers reconcile keys (observe, plan, apply)."""

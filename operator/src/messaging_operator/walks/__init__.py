"""Progressive delivery: canary and migration walks, one step at a time.

settings (what the spec asks of a walk, parsed by spec.py), canary (pure decisions: next
weight, verdict, rollback), analysis and prometheus (the metrics a step is judged by),
migration_plan (services leaving the monolith one after another), decisions (one pass's
walks, from status and analysis), canary_children (a canary's own objects), progress_report
(the CanaryProgressing condition).
"""

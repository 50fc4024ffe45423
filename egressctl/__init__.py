"""egressctl: run, render, report and verify the antrea-egress stacks from pipelines."""

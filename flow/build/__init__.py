"""`flow build`: the runner (flow.build.runner), the step context (flow.build.context), the steps in
build order (flow.build.steps.STEPS) and the final summary (flow.build.summary)."""

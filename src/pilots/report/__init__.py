"""The effect-measurement report: the plan file and the interim and final reports."""

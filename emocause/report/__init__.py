"""The case-study report: causes clustered into themes, rendered as one HTML page."""

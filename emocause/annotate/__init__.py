"""Running prompts over tables: templates, the runner with its response cache, and the jobs."""

"""The AsyncTool dataset: the build pipeline, evolution operators and the shipped file."""

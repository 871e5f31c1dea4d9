"""What a check leaves for people and other tools: the JSON trace format and its schema,
reading and replaying trace files, the terminal and HTML viewers, progress display."""

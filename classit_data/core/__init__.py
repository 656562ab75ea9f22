"""What every stage shares: the row schema, input/output, errors, the text template, the console, models."""

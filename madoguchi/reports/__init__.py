"""The monthly report to the municipality (000 §11, 002 §6(7)): figures, "<5" suppression,
renderers (JSON, CSV, XLSX, PDF with charts) and the scheduled delivery by mail."""

"""Consent and data lifecycle (issue 12), the composition side: the lead's routes (disclosure,
erasure, withdrawal on a resident's behalf, legal hold, incidents), the PDF face sheets, the
end-of-contract archive and destruction certificate (CLI)."""

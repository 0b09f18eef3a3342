"""Is every pushing system still pushing? ``GET /api/v1/status/sources``."""

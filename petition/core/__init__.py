"""Shared machinery: config, extensions, database helpers, email canonicalisation, URLs,
HTTP headers and error pages, the locale. Imports no feature."""

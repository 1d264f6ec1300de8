"""Import and export: CSV, XLSX and JSON for organisations and listings, templates per kind."""

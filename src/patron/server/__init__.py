"""The patron HTTP server: resources, storage and the web edge."""

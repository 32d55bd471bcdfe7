"""Small helpers shared across uptflow: file I/O, paths to shared data, seeding."""

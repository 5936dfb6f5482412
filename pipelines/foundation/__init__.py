"""The lowest layer: settings, problems, word keys, French formats, months, safe file handling.
Imports nothing else of the project."""

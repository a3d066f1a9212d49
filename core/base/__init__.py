"""The lowest wing: what every other wing may use and that uses no other wing.

Errors, time, ids, atomic and owner-only files, the data folder's layout, the settings, the
`LLM` interface, prompt files, the stop and progress types, and the client of the worker
processes.
"""

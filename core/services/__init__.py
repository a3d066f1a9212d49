"""What a person does with Engram, as operations over the stores, the index, the runtime and
the memory: the `Engram` of a data folder, the chat turn, operations on memories (each
returning a `Changes` record), purge, export, provenance, start-up recovery, the background
memory worker. The desktop app and the `engram` command are two faces of these.
"""

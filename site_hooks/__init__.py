"""Build-time logic for the MkDocs site: wheel build, Pyodide vendoring, demo blocks, math.

Plain Python functions; ``mkdocs_hooks.py`` is the only file MkDocs loads, and it only calls them.
"""

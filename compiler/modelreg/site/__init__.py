"""`modelreg site`: a static site of the compiled catalog, browsable without a server or a network.

It shows the capability tree with pool sizes, every pool in routing order, a searchable table of
models, a page per model with its history, and the pool diff of the last commit, and ships the
snapshot itself as `api.json`. What it reads of git is `modelreg.site.history`; the payload the
pages' script reads, `modelreg.site.payload`; the pages, `modelreg.site.pages`; putting them
together and writing them, `modelreg.site.generate`.
"""

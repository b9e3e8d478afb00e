"""Text analysis that search, matching, imports and duplicates all stand on.

`normal` (normal forms of text and names), `analyzer` (tokens and the thesaurus), `pinyin`,
`terms` (a record's weighted terms and how they are packed) and `docs` (the stored terms:
`search_term`, `match_doc` and the version counters). Nothing here imports an area: the
areas say which of their records are analysed and how (`crm.search.index`).
"""

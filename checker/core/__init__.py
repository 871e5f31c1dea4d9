"""The search core every engine stands on: results, in-memory traces, the canonical state
encoding and canonicaliser, fingerprints and the seen-set, the judge of every property kind,
strict replay, and the search loop (design.md §6). Nothing here names a variant or a
property; engines (:mod:`vmacheck.checker.engines`) and reports
(:mod:`vmacheck.checker.report`) import from here, never the other way round."""

"""The bulk scanner (``mxtls scan``): many domains, one runtime, results streamed.

input      reading domains (comments, IDNs, duplicates, invalid lines)
seen       a compact set of the domains already read or already done
scan       the local runner: bounded concurrency over one runtime
writers    JSONL, Parquet and CSV sinks, files or part files, resumable
summary    counts by verdict and finding code, while the scan streams
shard      MX-first planning and sharding by MX address (for Dask)
cluster    the Dask runner: one event loop and one runtime per shard

Nothing here judges: every document is the one ``mxtls check --json`` prints.
Only :mod:`mxtls.bulk.cluster` imports Dask and only the Parquet writer imports
pyarrow, so ``mxtls --help`` and a JSONL scan load neither.
"""

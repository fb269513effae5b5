"""Where prepared notebooks run: one notebook with its kernel (run_notebook, kernels),
on a pool of local processes (local_pool), in sandbox containers (sandbox) or on a
Dask cluster (dask_cluster). Reads only the job's files; never the gradebook."""

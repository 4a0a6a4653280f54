"""The GPU-worker side of generation: running claimed jobs (execute), this process's model cache
(runtime), the diffusion engine and the Celery task that wakes a worker.

Only worker processes import this package: it loads torch, diffusers and transformers. Web
processes reach it through the database and Celery messages sent by task name, and read the
figures workers publish through ``generation.worker_stats``."""

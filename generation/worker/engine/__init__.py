"""The diffusion engine: building, caching and running diffusers pipelines. No Django models here."""

"""The AUTOMATIC1111-compatible API subset under /sdapi/v1/: existing A1111 clients work unchanged."""

"""A weather forecast computed by lzy ops."""

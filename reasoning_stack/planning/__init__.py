"""Planning shared by every engine: the request and plan types (``types``), the layout search on NVIDIA GPUs that
vLLM and SGLang share (``gpu_search``) and what the one-host slot planners of Ollama and MLX-LM share (``slots``).
An engine's own memory model and command line live in its package under ``reasoning_stack.engines``."""

"""hicachectl: plan, lint and launch SGLang HiCache deployments behind NVIDIA Dynamo."""

__version__ = "0.1.0"

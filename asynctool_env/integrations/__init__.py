"""Adapters to the frameworks people train LLM agents with: TRL (:mod:`.trl_env`), OpenEnv
(:mod:`.openenv_server`) and verifiers (:mod:`.verifiers_env`). Each is thin over
``AsyncTool-Chat-v0`` and adds no scoring of its own; each needs its own extra
(``[trl]``, ``[openenv]``, ``[verifiers]``), and none is imported by the core package.
"""

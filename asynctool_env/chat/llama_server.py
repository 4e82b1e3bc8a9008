"""llama-cpp-python's OpenAI-compatible server, with llama.cpp's extra CPU buffer types off.

:class:`~asynctool_env.chat.local.LocalServer` runs ``python -m
asynctool_env.chat.llama_server ARGS``, which takes exactly the arguments of ``python -m
llama_cpp.server`` and runs that server's own ``main``, after one change: models are loaded
with ``use_extra_bufts = false``.

Why: when the CPU reports AMX or wide SIMD, llama.cpp moves the weights into "extra" CPU
buffer types (AMX tiles, repacked quantized blocks) and decodes batches of tokens with them.
On a CPU whose AMX the hypervisor does not grant (seen on a 2-core VM whose flags list
``amx_int8``), every decode of more than one token then dies with a segmentation fault, so
the server crashes on the first chat request (a one-token prompt still works). Plain CPU
buffers decode the same tokens everywhere; for a 135M model the speed difference does not
matter. llama-cpp-python has no option for it (0.3.36), hence this small wrapper: the model
parameter is set where ``Llama`` reads its defaults.
"""

from __future__ import annotations

from typing import Any


def without_extra_buffer_types() -> None:
    """Make every model ``Llama`` loads from now on use plain CPU buffers (see the module
    docstring); a no-op on a llama.cpp without the parameter."""
    import llama_cpp.llama_cpp as bindings

    default = bindings.llama_model_default_params
    if getattr(default, "_asynctool_plain_buffers", False):
        return

    def params() -> Any:
        values = default()
        if hasattr(values, "use_extra_bufts"):
            values.use_extra_bufts = False
        return values

    params._asynctool_plain_buffers = True  # type: ignore[attr-defined]
    bindings.llama_model_default_params = params


def main() -> None:
    """Run ``llama_cpp.server`` (its arguments on the command line) with plain buffers."""
    without_extra_buffer_types()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()

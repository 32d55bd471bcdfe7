"""uptflow: the UPT-Flow low-light enhancer (Xu et al., Pattern Recognition 158, 2025) and a night-vision suite.

Public API:
    load_model(path, device="cpu")            -> UPTFlow network (official or uptflow checkpoints)
    build_enhancer(name, weights=None, ...)   -> Enhancer (uint8 HxWx3 RGB in and out)
    list_enhancers()                          -> registered enhancer names
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_model", "build_enhancer", "list_enhancers"]


def __getattr__(name: str):
    # lazy: `import uptflow` stays cheap and does not pull torch until a model is asked for
    if name == "load_model":
        from uptflow.models import load_model

        return load_model
    if name in ("build_enhancer", "list_enhancers"):
        from uptflow import enhancers

        return getattr(enhancers, name)
    raise AttributeError(f"module 'uptflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazy exports above are part of the module for tab completion and dir(), though not loaded yet
    return sorted({*globals(), *__all__})

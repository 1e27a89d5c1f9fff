"""The model registry: which face models exist, where their files are, fetching optional ones."""

from stash_sense.models.fetch import ProgressCallback, fetch_model
from stash_sense.models.registry import (
    REGISTRY,
    ModelError,
    ModelSpec,
    get_spec,
    is_present,
    model_location,
    models_dir,
    resolve_model_path,
    sha256_file,
    use_models_dir,
    verify_file,
)

__all__ = [
    "REGISTRY",
    "ModelError",
    "ModelSpec",
    "ProgressCallback",
    "fetch_model",
    "get_spec",
    "is_present",
    "model_location",
    "models_dir",
    "resolve_model_path",
    "sha256_file",
    "use_models_dir",
    "verify_file",
]

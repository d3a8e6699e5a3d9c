"""harmonise: pool patient-level oncology exports from several hospitals into one warehouse.

The import namespace is ``harmonise.<stage>``; each stage lives in the repository's top-level
folder of the same name (``flows/``, ``schemas/``, ``mappings/``, ``warehouse/``, ``analysis/``,
``demo/``), mapped onto this namespace by ``pyproject.toml``.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("harmonise")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

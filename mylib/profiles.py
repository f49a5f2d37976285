"""Profiles: one name that maps to every size an experiment uses.

``"smoke"`` runs on two CPU cores in seconds to a minute (CI, laptops, the built
book); ``"full"`` is the papers' scale on one GPU. Each part's module registers
its experiments with :func:`register`; notebooks ask for their sizes with
:func:`get_config` using the ``profile`` parameter that papermill can override.
"""
from __future__ import annotations

import types
from typing import Any

__all__ = ["PROFILES", "register", "get_config", "check_profile", "experiments", "Config"]

PROFILES: tuple[str, ...] = ("smoke", "full")
_REGISTRY: dict[str, dict[str, dict[str, Any]]] = {}


class Config(types.SimpleNamespace):
    """Attribute access to an experiment's sizes, plus ``experiment`` and ``profile``.

    Parameters
    ----------
    **values
        The sizes (``cfg.epochs``, ...), and ``experiment`` and ``profile`` as :func:`get_config` sets them.
    """

    def as_dict(self) -> dict[str, Any]:
        """Return the configuration as a plain dictionary (for run records)."""
        return dict(vars(self))


def check_profile(profile: Any) -> str:
    """Return ``profile`` if it is a known profile name, else raise ValueError listing the valid ones.

    Parameters
    ----------
    profile : str
        A name of :data:`PROFILES` (``"smoke"`` or ``"full"``).

    Returns
    -------
    str
        ``profile`` unchanged.

    Raises
    ------
    ValueError
        For any other value; the message lists the valid profiles.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles are {', '.join(map(repr, PROFILES))}")
    return profile


def register(experiment: str, *, smoke: dict[str, Any], full: dict[str, Any]) -> None:
    """Register the sizes of ``experiment`` for every profile.

    Both dictionaries must have the same keys, so that a notebook never finds a
    size missing in one profile only. Registering a name again replaces its sizes.

    Parameters
    ----------
    experiment : str
        The name notebooks pass to :func:`get_config` (by convention the notebook's stem).
    smoke, full : dict
        Size name -> value for the ``smoke`` (CPU, minutes) and ``full`` (paper scale) profiles.

    Raises
    ------
    ValueError
        If ``smoke`` and ``full`` do not have the same keys.
    """
    if set(smoke) != set(full):
        raise ValueError(f"profiles of {experiment!r} disagree on keys: {sorted(set(smoke) ^ set(full))}")
    _REGISTRY[experiment] = {"smoke": dict(smoke), "full": dict(full)}


def experiments() -> list[str]:
    """Names of all registered experiments.

    Returns
    -------
    list of str
        Sorted.
    """
    return sorted(_REGISTRY)


def get_config(experiment: str, profile: str = "smoke", **overrides: Any) -> Config:
    """Return the sizes of ``experiment`` at ``profile``.

    Parameters
    ----------
    experiment : str
        A registered experiment name (see :func:`experiments`).
    profile : {"smoke", "full"}
        Scale of the run.
    **overrides
        Replace individual sizes (each key must already exist).

    Returns
    -------
    Config
        The registered sizes with the overrides applied, and ``experiment`` and ``profile``.

    Raises
    ------
    ValueError
        For an unknown profile, an unknown experiment or an unknown override key.
    """
    check_profile(profile)
    if experiment not in _REGISTRY:
        raise ValueError(f"unknown experiment {experiment!r}; registered: {', '.join(experiments()) or 'none'}")
    values = dict(_REGISTRY[experiment][profile])
    unknown = set(overrides) - set(values)
    if unknown:
        raise ValueError(f"unknown override(s) {sorted(unknown)} for {experiment!r}; valid keys: {sorted(values)}")
    values.update(overrides)
    return Config(experiment=experiment, profile=profile, **values)

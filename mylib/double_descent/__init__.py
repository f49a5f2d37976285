"""Part IV. Double descent of head tuning: hidden-Markov features, least-squares heads, risks."""
from . import hmm
from .hmm import *  # noqa: F401,F403

__all__ = list(hmm.__all__)

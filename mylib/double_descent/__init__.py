"""Double descent of head tuning on hidden-Markov-modelled language models (Part IV).

A frozen "pre-trained" model is modelled by a hidden Markov process; only a linear head is trained, by minimum-norm
least squares (or ridge), on ``n`` downstream samples. The subpackage implements the objects and results of
{doc}`../book/part4_double_descent`:

* theory curves: :func:`ridgeless_risk` and :func:`ridgeless_risk_terms` (the exact expected risk with isotropic
  Gaussian features, {prf:ref}`thm-dd-underparam` and {prf:ref}`thm-dd-overparam`),
  :func:`deterministic_equivalent_risk` and :func:`spectral_signal_weights` (general covariance,
  {prf:ref}`thm-dd-deteq`), :func:`reveal_risk` and :func:`reveal_increments` (the non-degenerate contrast,
  {prf:ref}`prop-dd-reveal`), :func:`ar1_noise_signal`, :func:`decaying_chain_increments` and :func:`optimal_ridge`;
* the linear-Gaussian HMM ({prf:ref}`def-dd-lgssm`): :func:`stationary_covariance`,
  :func:`sample_linear_gaussian_hmm`, :class:`GaussianSource`, :func:`decaying_chain`;
* the discrete HMM ({prf:ref}`def-dd-discrete-hmm`): :func:`random_discrete_hmm`, :func:`ring_hmm`,
  :func:`stationary_distribution`, :func:`sample_discrete_hmm`, :func:`forward_filter`
  ({prf:ref}`lem-dd-forward`), :func:`next_token_probs`, :func:`belief_pool`, :class:`PoolSource`;
* frozen models of size ``p`` ({prf:ref}`def-dd-model-size`): :func:`spread_readout`, :func:`reveal_readout`,
  :func:`anisotropic_readout` (with :func:`anisotropic_spectrum`), and the head-tuning problem :class:`HeadTask`
  with its exact population quantities ({prf:ref}`prop-dd-population`);
* heads and risks ({prf:ref}`def-dd-head`, {prf:ref}`def-dd-risk`): :func:`fit_head`, :func:`simulate_head_risks`,
  :func:`simulate_curve`, :func:`curve_agreement`, :func:`format_curve`,
  :func:`peak_location`, :func:`model_size_grid`;
* the explorer's figure: :func:`plot_double_descent`.

Conventions: samples are rows. Hidden states ``z_t`` are row vectors of length ``d``, representations ``x_t`` row
vectors of length ``p``; ``z_t = z_{t-1} A + eps_t`` and ``x_t = z_t W + u_t``. Risks are *per output dimension*
and include the irreducible noise. Array inputs may be numpy arrays or torch tensors; the Monte Carlo code runs in
float64 torch on CUDA when present and on the CPU otherwise (same code, :func:`mylib.get_device`).
"""
from . import profiles  # noqa: F401  (registers the notebooks' profiles)
from .theory import *  # noqa: F401,F403
from .sources import *  # noqa: F401,F403
from .readouts import *  # noqa: F401,F403
from .experiments import *  # noqa: F401,F403
from .plotting import *  # noqa: F401,F403
from . import theory, sources, readouts, experiments, plotting

__all__ = [
    *theory.__all__,
    *sources.__all__,
    *readouts.__all__,
    *experiments.__all__,
    *plotting.__all__,
]

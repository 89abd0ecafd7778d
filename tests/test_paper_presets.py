"""The authors' settings stay one flag away: ``--config <task>_paper`` gives exactly the paper's table (Morsali et
al., arXiv 2502.00869, Sec. 4, and the authors' code, https://github.com/AlirezaMorsali/STAF), whatever the
package's defaults become."""

from __future__ import annotations

import pytest

from staf_tasks.config import load_config, resolve_config_path
from staf_tasks.task_configs import task_config_class

# task: (tau, first omega, hidden omega, skip, lr, decay b, epochs, batch size; 0 = full batch)
PAPER = {
    "image": (5, 60.0, 30.0, True, 1e-3, 0.05, 501, 4096),
    "audio": (5, 3000.0, 30.0, False, 2.5e-4, 0.36, 1001, 0),
    "shape": (5, 30.0, 30.0, False, 2.5e-4, 0.36, 200, 100_000),
    "denoise": (2, 5.0, 5.0, False, 2.5e-4, 1.0, 501, 4096),
    "sr": (5, 30.0, 30.0, False, 1e-3, 0.1, 501, 256),
}


@pytest.mark.parametrize("task", sorted(PAPER))
def test_paper_presets_hold_the_papers_values(task):
    cls = task_config_class(task)
    cfg = load_config(cls, resolve_config_path(f"{task}_paper"), base=cls())
    tau, first, hidden, skip, lr, decay, epochs, batch = PAPER[task]
    staf = cfg.models.staf
    assert (staf.tau, staf.first_omega, staf.hidden_omega, staf.skip) == (tau, first, hidden, skip)
    assert (staf.init, staf.sharing) == ("official", "layer")
    assert (cfg.train.lr, cfg.train.lr_decay, cfg.train.epochs, cfg.train.batch_size) == (lr, decay, epochs, batch)
    assert cfg.train.activation_lr_scale == 1.0
    assert (cfg.hidden_features, cfg.hidden_layers) == (256, 3)
    # The authors' baselines: SIREN omega 30/30 (audio: first 3000, SIREN's own audio setting).
    assert cfg.models.siren.first_omega == (3000.0 if task == "audio" else 30.0)
    assert cfg.models.siren.hidden_omega == 30.0


@pytest.mark.parametrize("task", sorted(PAPER))
def test_paper_preset_is_taken_over_the_new_defaults(task):
    """Whatever the defaults are, the preset sets every STAF field that the paper fixes (a preset that left one out
    would silently inherit the new default)."""
    cls = task_config_class(task)
    base = cls()
    base.models.staf.init, base.models.staf.skip, base.models.staf.tau = "unit", not PAPER[task][3], 9
    base.models.staf.first_omega = base.models.staf.hidden_omega = 1.0
    cfg = load_config(cls, resolve_config_path(f"{task}_paper"), base=base)
    assert (cfg.models.staf.init, cfg.models.staf.skip, cfg.models.staf.tau) == ("official", PAPER[task][3],
                                                                                   PAPER[task][0])
    assert (cfg.models.staf.first_omega, cfg.models.staf.hidden_omega) == PAPER[task][1:3]

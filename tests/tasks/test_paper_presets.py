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


# preset: (model, that model's settings, lr, the source the preset's comment must cite)
BASELINE_PRESETS = {
    "image_siren": ("siren", {"first_omega": 90.0, "hidden_omega": 30.0, "weight_scale": 1.0}, 1e-3, "Sitzmann"),
    "image_siren_ws": ("siren", {"first_omega": 30.0, "hidden_omega": 30.0, "weight_scale": 2.0}, 1e-3, "Yeom"),
    "image_siren_tuned": ("siren", {"first_omega": 60.0, "hidden_omega": 30.0, "weight_scale": 1.5}, 1e-3, "Yeom"),
    "image_finer": ("finer", {"first_omega": 30.0, "hidden_omega": 30.0, "first_bias_scale": 20.0,
                              "scale_requires_grad": False, "weight_scale": 1.0}, 1e-4, "SL2A-INR"),
    "image_finer_ws": ("finer", {"first_omega": 30.0, "hidden_omega": 30.0, "first_bias_scale": 20.0,
                                 "scale_requires_grad": False, "weight_scale": 2.0}, 1e-4, "Yeom"),
    "image_wire": ("wire", {"omega": 20.0, "sigma": 30.0}, 1e-3, "omega0=20, sigma0=30"),
    "image_gauss": ("gauss", {"sigma": 10.0}, 1e-3, "Ramasinghe"),
    "image_relu_pe": ("relu-pe", {"num_frequencies": 256, "sigma": 10.0}, 1e-3, "Tancik"),
}


@pytest.mark.parametrize("preset", sorted(BASELINE_PRESETS))
def test_baseline_presets_restate_their_sources(preset):
    """Each baseline preset picks its model and sets that model's every setting (over any base), its lr, and names
    the paper or reference code the values come from; the budget and schedule stay the task's (equal steps)."""
    model, settings, lr, source = BASELINE_PRESETS[preset]
    cls = task_config_class("image")
    path = resolve_config_path(preset)
    base = cls()
    for key in settings:  # a preset that left a setting out would inherit this instead
        value = getattr(base.models.settings(model), key)
        setattr(base.models.settings(model), key, (not value) if isinstance(value, bool) else value + 7)
    base.train.lr = 0.5
    cfg = load_config(cls, path, base=base)
    assert cfg.model == model
    assert {key: getattr(cfg.models.settings(model), key) for key in settings} == settings
    assert cfg.train.lr == lr
    defaults = cls()
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr_decay) == (
        defaults.train.epochs, defaults.train.batch_size, defaults.train.lr_decay)
    comment = "\n".join(line for line in path.read_text().splitlines() if line.startswith("#"))
    assert source in comment and f"--config {preset}" in comment

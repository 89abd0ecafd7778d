"""``staf-demo``: STAF (the default) and SIREN fitted side by side under one budget, pictures and summary written."""

from __future__ import annotations

import json

import imageio.v3 as iio

from staf_tasks.demo import DEMO_MODELS, entrypoint


def test_demo_fits_staf_and_siren_side_by_side(tmp_path, capsys):
    out = tmp_path / "demo"
    try:
        entrypoint(["--quick", "--no-nerf", "--output-dir", str(out)])
    except SystemExit as exit_:
        assert exit_.code in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert DEMO_MODELS == ("staf", "siren")
    for model in DEMO_MODELS:
        image = summary[f"image_{model}"]
        assert image["epochs"] == 2 and 5.0 < image["psnr"] < 60.0, image
        config = (out / f"image-{model}" / "config.yml").read_text()
        assert f"model: {model}" in config
    picture = iio.imread(out / "staf_vs_siren.png")
    assert picture.shape[1] > 2 * picture.shape[0]  # a row of panels: target, STAF, SIREN
    assert (out / "staf_vs_siren_curves.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "Image, STAF" in printed and "Image, SIREN" in printed and "staf_vs_siren.png" in printed

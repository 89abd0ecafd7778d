"""Bad inputs, tried as a new user would: every one gets one line on stderr naming the problem and the fix, exit 2,
no traceback, and leaves every file as it was (run folders are compared byte for byte before and after).

The command lines run in a subprocess (``tests/cli/cli_rows.py``: one Python process for all rows, each row's stdout and
stderr captured at the file-descriptor level); a few run in their own process where the boundary matters (SIGKILL,
another user). Rows that are rightly accepted exit 0 with one ``warning:`` line instead.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import soundfile as sf
import trimesh

REPO = Path(__file__).resolve().parents[2]
ROWS_SCRIPT = REPO / "tests" / "cli" / "cli_rows.py"
TINY = "--hidden-features 8 --hidden-layers 1 --no-progress --train.batch-size 0"

# (id, command line, expected: "error" = exit 2 / "warning" = exit 0 and one warning line / "quiet" = exit 0 and
# nothing on stderr, words the line must contain). Placeholders: {d} data files, {o} an output folder that holds
# the trained runs {img} {aud} {shp}, {s} a scratch folder outside the compared tree (for accepted runs).
ROWS = [
    # Resume conflicts: refused before anything is written, naming the conflicting flag.
    ("resume-other-model", "staf-fit image --resume {img} --model siren", "error", ["--model siren", "--name"]),
    ("resume-other-width", "staf-fit image --resume {img} --hidden-features 16", "error", ["--hidden-features 16"]),
    ("resume-other-depth", "staf-fit image --resume {img} --hidden-layers 3", "error", ["--hidden-layers 3"]),
    ("resume-other-model-setting", "staf-fit image --resume {img} --models.staf.tau 2", "error",
     ["--models.staf.tau 2"]),
    ("resume-other-data", "staf-fit image --resume {img} --data camera", "error", ["--data camera"]),
    ("resume-other-lr", "staf-fit image --resume {img} --train.lr 0.01", "error", ["--train.lr 0.01"]),
    ("resume-fewer-epochs", "staf-fit image --resume {img} --train.epochs 1", "error",
     ["--train.epochs 1", "2 epochs"]),
    ("resume-other-task", "staf-fit image --resume {aud}", "error", ["task audio", "staf-fit audio --resume"]),
    ("resume-other-task-2", "staf-fit audio --resume {img}", "error", ["task image", "staf-fit image --resume"]),
    ("resume-not-a-run", "staf-fit image --resume {d}", "error", ["not a run folder"]),
    ("resume-missing", "staf-fit image --resume {o}/nowhere", "error", ["not a run folder"]),
    ("rerun-without-overwrite", "staf-fit image --data {d}/tiny.png --size 5 4 " + TINY +
     " --output-dir {o} --name img", "error", ["--resume", "--overwrite"]),
    ("bench-existing-folder", "staf-bench image --models staf --data {d}/tiny.png " + TINY +
     " --train.epochs 1 --output-dir {o}", "error", ["--resume", "--overwrite"]),
    ("bench-resume-nothing", "staf-bench image --resume --models staf --data {d}/tiny.png " + TINY +
     " --output-dir {o} --name nosweep", "error", ["does not exist", "without --resume"]),
    # Output folders that cannot be written (the read-only one runs as another user below).
    ("output-dir-is-file", "staf-fit image --data {d}/tiny.png " + TINY + " --output-dir {d}/afile", "error",
     ["is a file", "--output-dir"]),
    ("output-dir-under-file", "staf-fit image --data {d}/tiny.png " + TINY + " --output-dir {d}/afile/sub", "error",
     ["is a file", "--output-dir"]),
    ("make-scene-into-file", "staf-make-scene {d}/afile --res 4 --views 1 1 1", "error", ["is a file"]),
    ("make-scene-supersample-0", "staf-make-scene {o}/scene --res 4 --views 1 1 1 --supersample 0", "error",
     ["--supersample"]),
    # Numbers that cannot train.
    ("eval-every-0", "staf-fit image --data {d}/tiny.png --train.eval-every 0 --output-dir {o}", "error",
     ["--train.eval-every must be at least 1"]),
    ("checkpoint-every-0", "staf-fit image --data {d}/tiny.png --train.checkpoint-every 0 --output-dir {o}", "error",
     ["--train.checkpoint-every"]),
    ("hidden-features-0", "staf-fit image --data {d}/tiny.png --hidden-features 0 --output-dir {o}", "error",
     ["--hidden-features must be at least 1"]),
    ("epochs-0", "staf-fit image --data {d}/tiny.png --train.epochs 0 --output-dir {o}", "error", ["--train.epochs"]),
    ("epochs-negative", "staf-fit image --data {d}/tiny.png --train.epochs -5 --output-dir {o}", "error",
     ["--train.epochs"]),
    ("lr-negative", "staf-fit image --data {d}/tiny.png --train.lr -0.001 --output-dir {o}", "error",
     ["--train.lr must be a positive number"]),
    ("lr-nan", "staf-fit image --data {d}/tiny.png --train.lr nan --output-dir {o}", "error", ["--train.lr"]),
    ("size-too-small", "staf-fit image --data {d}/tiny.png --size 1 4 --output-dir {o}", "error", ["--size"]),
    ("sr-factor-too-big", "staf-fit sr --data {d}/tiny.png --factor 8 --output-dir {o}", "error",
     ["--factor 8", "lower --factor"]),
    ("device-unknown", "staf-fit image --data {d}/tiny.png --train.device tpu --output-dir {o}", "error",
     ["--train.device", "cpu"]),
    ("seeds-not-a-number", "staf-bench image --seeds x --output-dir {o}", "error", ["--seeds"]),
    ("diverging-run-leaves-no-folder", "staf-fit image --data {d}/tiny.png " + TINY +
     " --train.lr 1e30 --train.epochs 3 --output-dir {o} --name diverged", "error", ["diverged", "--train.lr"]),
    # staf-render.
    ("render-scale-nan", "staf-render {img} --scale nan", "error", ["--scale"]),
    ("render-scale-inf", "staf-render {img} --scale inf", "error", ["--scale"]),
    ("render-scale-0", "staf-render {img} --scale 0", "error", ["--scale"]),
    ("render-size-1", "staf-render {img} --size 1 1", "error", ["--size"]),
    ("render-output-no-suffix", "staf-render {img} --output {o}/noext", "error", [".png"]),
    ("render-output-txt", "staf-render {img} --output {o}/x.txt", "error", [".png"]),
    ("render-output-in-file", "staf-render {img} --output {d}/afile/x.png", "error", ["is a file"]),
    ("render-samplerate-0", "staf-render {aud} --samplerate 0", "error", ["--samplerate"]),
    ("render-scale-on-audio", "staf-render {aud} --scale 2", "error", ["--scale", "--samplerate"]),
    ("render-size-on-audio", "staf-render {aud} --size 10 10", "error", ["--size", "--samplerate"]),
    ("render-resolution-on-image", "staf-render {img} --resolution 32", "error", ["--resolution", "--scale"]),
    ("render-resolution-0", "staf-render {shp} --resolution 0", "error", ["--resolution"]),
    ("render-not-a-run", "staf-render {d}", "error", ["not a run folder"]),
    ("activations-not-a-run", "staf-activations {d}", "error", ["not a run folder"]),
    ("activations-not-staf", "staf-activations {sir}", "error", ["--model staf"]),
    # Data files.
    ("image-missing", "staf-fit image --data {d}/missing.png --output-dir {o}", "error", ["not found"]),
    ("image-1x1", "staf-fit image --data {d}/one.png --output-dir {o}", "error", ["1x1", "2x2"]),
    ("image-empty-file", "staf-fit image --data {d}/empty.png --output-dir {o}", "error", ["empty"]),
    ("image-text-file", "staf-fit image --data {d}/text.png --output-dir {o}", "error", ["not an image"]),
    ("image-alpha", "staf-fit image --data {d}/rgba.png --output-dir {o}", "error", [" --composite-alpha"]),
    ("image-folder", "staf-fit image --data {d} --output-dir {o}", "error", ["folder"]),
    ("audio-folder", "staf-fit audio --data {d} --output-dir {o}", "error", ["folder"]),
    ("audio-empty", "staf-fit audio --data {d}/empty.wav --output-dir {o}", "error", ["empty"]),
    ("audio-no-frames", "staf-fit audio --data {d}/noframes.wav --output-dir {o}", "error", ["no samples"]),
    ("audio-broken", "staf-fit audio --data {d}/broken.wav --output-dir {o}", "error", ["broken_converted.wav"]),
    ("audio-stereo-no-mixdown", "staf-fit audio --data {d}/stereo.wav --no-mixdown --output-dir {o}", "error",
     ["2 channels"]),
    ("mesh-garbage", "staf-fit shape --data {d}/garbage.obj --resolution 8 --output-dir {o}", "error", ["mesh"]),
    ("mesh-huge-coordinates", "staf-fit shape --data {d}/huge.ply --resolution 8 --output-dir {o}", "error",
     ["up to 1e+30", "rescale"]),
    ("audio-silent-start", "staf-fit audio --data {d}/late.wav --max-seconds 0.05 --output-dir {o}", "error",
     ["first 0.05 s", "--max-seconds"]),
    ("mesh-open", "staf-fit shape --data {d}/open.ply --resolution 8 --output-dir {o}", "error",
     ["not watertight", "--allow-non-watertight"]),
    ("mesh-degenerate-allowed", "staf-fit shape --data {d}/flat.ply --allow-non-watertight --resolution 8 "
     "--output-dir {o}", "error", ["encloses none"]),
    # Options.
    ("unknown-task", "staf-fit picture", "error", ["unknown task 'picture'"]),
    ("unknown-model", "staf-fit image --model resnet --output-dir {o}", "error", ["resnet", "--help"]),
    ("unknown-flag", "staf-fit image --epochs 3 --output-dir {o}", "error", ["--epochs", "--help"]),
    ("flag-wrong-type", "staf-fit image --train.epochs many --output-dir {o}", "error", ["many", "--help"]),
    ("bench-unknown-model", "staf-bench image --models staf,resnet --output-dir {o}", "error", ["resnet"]),
    ("config-missing", "staf-fit image --config {d}/none.yaml --output-dir {o}", "error", ["not found"]),
    ("config-is-folder", "staf-fit image --config {d} --output-dir {o}", "error",
     ["a folder without config.yml", "preset name"]),
    ("config-unknown-key", "staf-fit image --config {d}/bad.yaml --output-dir {o}", "error", ["unknown config key"]),
    ("theory-help", "staf-theory --help", "quiet", []),
    # Resume: the checkpoint is read and checked against the network before anything is written.
    ("resume-with-overwrite", "staf-fit image --resume {img} --overwrite --train.epochs 3", "error",
     ["--resume", "--overwrite", "not both"]),
    ("resume-other-networks-checkpoint", "staf-fit image --resume {mix} --train.epochs 3", "error",
     ["does not hold the network", "--name"]),
    ("resume-damaged-checkpoint", "staf-fit image --resume {dmg} --train.epochs 3", "error", ["damaged"]),
    ("render-damaged-checkpoint", "staf-render {dmg}", "error", ["damaged", "--overwrite"]),
    ("activations-damaged-checkpoint", "staf-activations {dmg}", "error", ["damaged"]),
    ("render-over-own-file", "staf-render {img} --output {img}/reconstruction.png", "error",
     ["reconstruction.png", "run's training wrote"]),
    ("render-over-checkpoint-name", "staf-render {img} --output {img}/curves.png", "error", ["curves.png"]),
    ("activations-over-own-file", "staf-activations {img} --output {img}/comparison.png", "error",
     ["comparison.png"]),
    # --name is one folder name under --output-dir.
    ("name-escapes", "staf-fit image --data {d}/tiny.png " + TINY + " --name ../../x --output-dir {o}", "error",
     ["--name '../../x'", "--output-dir"]),
    ("name-absolute", "staf-fit image --data {d}/tiny.png " + TINY + " --name /tmp/x --output-dir {o}", "error",
     ["--name"]),
    ("name-nested", "staf-fit image --data {d}/tiny.png " + TINY + " --name a/b --output-dir {o}", "error",
     ["--name"]),
    ("bench-name-escapes", "staf-bench image --models staf --data {d}/tiny.png " + TINY + " --name .. "
     "--output-dir {o}", "error", ["--name"]),
    # Sizes whose tensors cannot fit: refused before anything is allocated, naming the flag and the estimate.
    ("size-huge", "staf-fit image --data {d}/tiny.png --size 100000 100000 --output-dir {o}", "error",
     ["--size 100000 100000", "GB of memory", "choose a smaller --size"]),
    ("hidden-features-huge", "staf-fit image --data {d}/tiny.png --hidden-features 1000000 --output-dir {o}",
     "error", ["--hidden-features 1000000", "memory"]),
    ("tau-huge-per-neuron", "staf-fit image --data {d}/tiny.png --models.staf.tau 100000000 --models.staf.sharing "
     "neuron --output-dir {o}", "error", ["--models.staf.tau 100000000", "memory"]),
    ("resolution-huge", "staf-fit shape --resolution 100000 --output-dir {o}", "error", ["--resolution 100000"]),
    ("chamfer-points-huge", "staf-fit shape --resolution 8 --chamfer-points 100000000000 --output-dir {o}", "error",
     ["--chamfer-points"]),
    ("render-scale-huge", "staf-render {img} --scale 1e6", "error", ["--scale 1e+06", "memory"]),
    ("render-size-huge", "staf-render {img} --size 1000000 1000000", "error", ["--size 1000000 1000000"]),
    ("render-samplerate-huge", "staf-render {aud} --samplerate 1000000000000", "error", ["--samplerate"]),
    ("render-resolution-huge", "staf-render {shp} --resolution 100000", "error", ["--resolution 100000"]),
    ("make-scene-res-huge", "staf-make-scene {o}/bigscene --res 100000", "error", ["--res 100000", "memory"]),
    ("bench-hidden-features-huge", "staf-bench image --models staf --data {d}/tiny.png --hidden-features 1000000 "
     "--output-dir {o} --name hugebench", "error", ["--hidden-features 1000000"]),
    # Network settings the networks cannot build or train.
    ("tau-0", "staf-fit image --data {d}/tiny.png --models.staf.tau 0 --output-dir {o}", "error",
     ["--models.staf.tau", "at least 1"]),
    ("omega-negative", "staf-fit image --data {d}/tiny.png --models.staf.first-omega -30 --output-dir {o}", "error",
     ["--models.staf.first-omega", "positive"]),
    ("omega-nan", "staf-fit image --data {d}/tiny.png --models.staf.hidden-omega nan --output-dir {o}", "error",
     ["--models.staf.hidden-omega", "nan"]),
    ("amplitude-inf", "staf-fit image --data {d}/tiny.png --models.staf.extra-amplitude inf --output-dir {o}",
     "error", ["--models.staf.extra-amplitude", "inf"]),
    ("siren-omega-0", "staf-fit image --data {d}/tiny.png --model siren --models.siren.first-omega 0 "
     "--output-dir {o}", "error", ["--models.siren.first-omega"]),
    ("wire-sigma-negative", "staf-fit image --data {d}/tiny.png --model wire --models.wire.sigma -1 --output-dir {o}",
     "error", ["--models.wire.sigma"]),
    ("relu-pe-no-frequencies", "staf-fit image --data {d}/tiny.png --model relu-pe --models.relu-pe.num-frequencies "
     "0 --output-dir {o}", "error", ["--models.relu-pe.num-frequencies"]),
    ("seed-too-big", "staf-fit image --data {d}/tiny.png --seed 18446744073709551616 --output-dir {o}", "error",
     ["--seed", "2**64"]),
    ("bench-seeds-past-the-last", "staf-bench image --models staf --seed 18446744073709551615 --seeds 2 "
     "--output-dir {o} --name seedbench", "error", ["--seeds 2", "2**64"]),
    # YAML values of the wrong shape, naming the key and the shape it needs.
    ("yaml-train-null", "staf-fit image --config {d}/train_null.yaml --output-dir {o}", "error",
     ["'train'", "mapping"]),
    ("yaml-model-settings-null", "staf-fit image --config {d}/staf_null.yaml --output-dir {o}", "error",
     ["'models.staf'", "mapping"]),
    ("yaml-size-scalar", "staf-fit image --config {d}/size16.yaml --output-dir {o}", "error",
     ["'size'", "list of 2"]),
    ("yaml-size-three", "staf-fit image --config {d}/size3.yaml --output-dir {o}", "error", ["'size'", "[16, 16, 3]"]),
    ("yaml-model-list", "staf-fit image --config {d}/model_list.yaml --output-dir {o}", "error",
     ["'model'", "one of staf"]),
    ("yaml-quoted-number", "staf-fit image --config {d}/quoted.yaml --output-dir {o}", "error",
     ["'hidden_features'", "'8'", "without quotes"]),
    # Signals too small, scenes already there.
    ("audio-one-sample", "staf-fit audio --data {d}/one.wav --output-dir {o}", "error", ["1 sample", "at least 2"]),
    ("make-scene-existing", "staf-make-scene {scn} --res 4 --views 1 1 1", "error", ["already holds", "--overwrite"]),
    # Accepted, with a warning that names what happened.
    ("audio-truncated", "staf-fit audio --data {d}/truncated.wav " + TINY +
     " --train.epochs 1 --output-dir {s} --name trunc", "warning", ["truncated"]),
    ("audio-stereo-mixdown", "staf-fit audio --data {d}/stereo.wav " + TINY +
     " --train.epochs 1 --output-dir {s} --name mix", "warning", ["2 channels", "mono"]),
    ("image-size-stretches", "staf-fit image --data {d}/tiny.png --size 4 4 " + TINY + " --train.epochs 1 "
     "--output-dir {s} --name stretch", "warning", ["stretches", "--max-side"]),
]


def _write_data(d: Path) -> None:
    rng = np.random.default_rng(0)
    iio.imwrite(d / "tiny.png", (rng.random((8, 10, 3)) * 255).astype(np.uint8))  # 10 wide, 8 high
    iio.imwrite(d / "rgba.png", (rng.random((8, 10, 4)) * 255).astype(np.uint8))
    iio.imwrite(d / "one.png", np.zeros((1, 1, 3), np.uint8))
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("this is not a picture\n")
    tone = np.sin(np.arange(400) / 5.0).astype(np.float32)
    sf.write(d / "tone.wav", tone, 8000, subtype="PCM_16")
    full = d / "full.wav"
    sf.write(full, np.sin(np.arange(4000) / 5.0).astype(np.float32), 8000, subtype="PCM_16")
    (d / "truncated.wav").write_bytes(full.read_bytes()[:3000])
    full.unlink()
    (d / "empty.wav").write_bytes(b"")
    sf.write(d / "noframes.wav", np.zeros(0, np.float32), 8000)
    sf.write(d / "stereo.wav", np.stack([tone, 0.5 * tone], axis=1), 8000, subtype="PCM_16")
    (d / "broken.wav").write_bytes(b"RIFF....WAVEnot really audio")
    (d / "garbage.obj").write_text("this is not a mesh\n")
    box = trimesh.creation.box()
    trimesh.Trimesh(box.vertices, box.faces[:-2]).export(d / "open.ply")
    trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]).export(d / "flat.ply")
    trimesh.Trimesh(box.vertices * 2e30, box.faces).export(d / "huge.ply")  # closed, but beyond trimesh's merge grid
    sf.write(d / "late.wav", np.concatenate([np.zeros(800, np.float32), tone]), 8000, subtype="PCM_16")  # 0.1 s quiet
    (d / "afile").write_text("a file where a folder is expected\n")
    (d / "bad.yaml").write_text("epochs: 3\n")
    sf.write(d / "one.wav", np.array([0.5], np.float32), 8000)
    for name, text in {"train_null": "train: null\n", "staf_null": "models:\n  staf: null\n", "size16": "size: 16\n",
                       "size3": "size: [16, 16, 3]\n", "model_list": "model: [staf]\n",
                       "quoted": "hidden_features: '8'\n"}.items():
        (d / f"{name}.yaml").write_text(text)


def run_rows(rows, tmp: Path, env=None, preexec_fn=None):
    """Runs ``[{"id", "argv", "watch"}]`` in one subprocess; returns {id: result}."""
    spec, out = tmp / f"rows-{os.getpid()}-{len(rows)}.json", tmp / f"results-{os.getpid()}-{len(rows)}.json"
    spec.write_text(json.dumps(rows))
    subprocess.run([sys.executable, str(ROWS_SCRIPT), str(spec), str(out)], check=True, env=env, preexec_fn=preexec_fn,
                   cwd=tmp, timeout=600)
    return {r["id"]: r for r in json.loads(out.read_text())}


def _env(extra=None):
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "100"}
    return {**env, **(extra or {})}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Data files and four tiny trained runs (image, audio, shape; a SIREN image run), made by one subprocess."""
    root = tmp_path_factory.mktemp("bad_inputs")
    d, o, s = root / "data", root / "out", tmp_path_factory.mktemp("scratch")
    d.mkdir()
    o.mkdir()
    _write_data(d)
    (o / "bench-image").mkdir()
    (o / "bench-image" / "table.md").write_text("hours of results\n")
    places = {"d": d, "o": o, "s": s, "img": o / "img", "aud": o / "aud", "shp": o / "shp", "sir": o / "sir",
              "mix": o / "mix", "dmg": o / "dmg", "scn": o / "scene0"}
    train = [
        {"id": "img", "argv": ["staf-fit", "image", "--data", str(d / "tiny.png"), "--size", "5", "4",
                               *TINY.split(), "--train.epochs", "2", "--output-dir", str(o), "--name", "img"]},
        {"id": "aud", "argv": ["staf-fit", "audio", "--data", str(d / "tone.wav"), *TINY.split(),
                               "--train.epochs", "2", "--output-dir", str(o), "--name", "aud"]},
        {"id": "shp", "argv": ["staf-fit", "shape", "--data", "sphere", "--resolution", "8", "--chamfer-points", "100",
                               *TINY.split(), "--train.epochs", "2", "--output-dir", str(o), "--name", "shp"]},
        {"id": "sir", "argv": ["staf-fit", "image", "--data", str(d / "tiny.png"), "--model", "siren", *TINY.split(),
                               "--train.epochs", "1", "--output-dir", str(o), "--name", "sir"]},
        {"id": "scn", "argv": ["staf-make-scene", str(o / "scene0"), "--res", "4", "--views", "1", "1", "1",
                               "--supersample", "1"]},
    ]
    done = run_rows(train, root, env=_env())
    for row in train:
        assert done[row["id"]]["code"] == 0, done[row["id"]]["stderr"]
    # A run with another network's checkpoint copied in, and one whose checkpoint is cut short.
    shutil.copytree(o / "img", o / "mix")
    shutil.copyfile(o / "sir" / "checkpoint.pt", o / "mix" / "checkpoint.pt")
    shutil.copytree(o / "img", o / "dmg")
    (o / "dmg" / "checkpoint.pt").write_bytes((o / "img" / "checkpoint.pt").read_bytes()[:200])
    return root, places


@pytest.fixture(scope="module")
def results(world):
    root, places = world
    rows = []
    for row_id, command, _, _ in ROWS:
        argv = [part.format(**places) for part in shlex.split(command)]
        rows.append({"id": row_id, "argv": argv, "watch": str(root)})
    return run_rows(rows, root, env=_env())


def assert_one_line(result, kind, words):
    lines = result["stderr"].strip().splitlines()
    assert "Traceback" not in result["stderr"], result["stderr"]
    if kind == "quiet":
        assert result["code"] == 0 and lines == [], result["stderr"]
        return
    assert len(lines) == 1, result["stderr"]
    line = lines[0]
    assert result["code"] == (2 if kind == "error" else 0), line
    assert line.startswith(f"{kind}: "), line
    assert ";" in line or "(" in line, f"no fix named: {line}"  # "problem; fix" or "problem (what is done)"
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"


@pytest.mark.parametrize("row_id,kind,words", [(r[0], r[2], r[3]) for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input(results, row_id, kind, words):
    result = results[row_id]
    assert_one_line(result, kind, words)
    assert result["changed"] == [], f"{row_id} changed {result['changed']}"


def test_theory_help_names_the_command_and_valid_flags(results):
    text = results["theory-help"]["stdout"]
    assert "usage: staf-theory " in text and ".venv" not in text and "--skip True" not in text


def test_size_is_width_then_height_everywhere(world):
    """staf-fit --size 5 4 on a 10-wide, 8-high image fits a 5-wide, 4-high image; staf-render --size 12 6 writes a
    12-wide, 6-high one."""
    root, places = world
    metrics = json.loads((places["img"] / "metrics.json").read_text())
    assert (metrics["signal"]["width"], metrics["signal"]["height"]) == (5, 4)
    assert iio.imread(places["img"] / "reconstruction.png").shape[:2] == (4, 5)
    out = root.parent / "wide.png"
    done = run_rows([{"id": "r", "argv": ["staf-render", str(places["img"]), "--size", "12", "6", "--output",
                                          str(out)]}], root, env=_env())
    assert done["r"]["code"] == 0, done["r"]["stderr"]
    assert iio.imread(out).shape[:2] == (6, 12)


def _without_root_file_powers() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so that root obeys permission
    bits like any user (the tests may run as root, which may write into a read-only folder)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux permissions and capabilities")
def test_read_only_output_dir(tmp_path):
    """A folder the user cannot write: one line, exit 2, nothing changed."""
    _write_data(tmp_path)
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rows = [{"id": "fit", "argv": ["staf-fit", "image", "--data", str(tmp_path / "tiny.png"), "--output-dir",
                                       str(ro)], "watch": str(ro)},
                {"id": "scene", "argv": ["staf-make-scene", str(ro / "scene"), "--res", "4", "--views", "1", "1", "1"],
                 "watch": str(ro)}]
        done = run_rows(rows, tmp_path, env=_env(), preexec_fn=_without_root_file_powers if os.geteuid() == 0 else None)
        for row_id in ("fit", "scene"):
            assert_one_line(done[row_id], "error", ["permission denied"])
            assert done[row_id]["changed"] == []
    finally:
        ro.chmod(0o755)


def test_16_bit_rgb_png_keeps_16_bits(tmp_path):
    from staf_tasks.data.image import load_image

    rgb = np.random.default_rng(1).integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    import cv2

    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb[..., ::-1])  # OpenCV writes BGR
    loaded = load_image(tmp_path / "rgb16.png")
    assert loaded.shape == (6, 7, 3)
    np.testing.assert_array_equal(np.round(loaded * 65535).astype(np.uint16), rgb)  # every bit kept


def test_max_side_keeps_the_aspect_ratio(tmp_path):
    from staf_tasks.tasks import get_task

    iio.imwrite(tmp_path / "wide.png", np.zeros((30, 60, 3), np.uint8))
    task = get_task("image")
    cfg = task.config_cls(data=str(tmp_path / "wide.png"), max_side=20)
    assert task.load(cfg).shape == (10, 20, 3)

"""Audio and shape data: loading, bad input, the inside test, marching cubes and the metrics, on tiny signals."""

import math
import re

import numpy as np
import pytest
import soundfile as sf
import torch
import trimesh

from staf_tasks.data.audio import audio_coords, load_audio, synth_default_clip, write_wav
from staf_tasks.data.image import load_image
from staf_tasks.data.shape import (
    default_mesh,
    extract_mesh,
    generalized_winding_number,
    grid_axis,
    load_mesh,
    load_shape,
    occupancy_grid,
    points_inside,
    render_mesh_png,
    sample_shape_points,
    shape_coords,
    write_mesh,
)
from staf_tasks.errors import StafUserError
from staf_tasks.metrics import audio_psnr, chamfer_distance, iou
from staf_tasks.plots import plot_waveforms

# --- audio --------------------------------------------------------------------------------------------------------


def test_builtin_clip_is_deterministic_and_normalized():
    a = synth_default_clip(seconds=0.5, samplerate=8000)
    b = synth_default_clip(seconds=0.5, samplerate=8000)
    assert a.samples.dtype == np.float32 and a.samples.shape == (4000,)
    assert np.array_equal(a.samples, b.samples)
    assert np.max(np.abs(a.samples)) == pytest.approx(1.0)
    assert a.samples.std() > 0.1  # a real signal, not silence
    full = load_audio(None)
    assert full.samplerate == 16_000 and full.num_samples == 48_000 and full.source.startswith("builtin:")
    assert load_audio("cello", max_seconds=0.25).num_samples == 4000


def test_wav_round_trip(tmp_path):
    clip = synth_default_clip(seconds=0.3, samplerate=8000)
    write_wav(tmp_path / "float.wav", clip.samples, clip.samplerate, subtype="FLOAT")
    back = load_audio(tmp_path / "float.wav")
    assert back.samplerate == 8000
    np.testing.assert_array_equal(back.samples, clip.samples)
    assert audio_psnr(back.samples, clip.samples) == math.inf
    write_wav(tmp_path / "pcm.flac", torch.from_numpy(clip.samples), clip.samplerate)
    pcm = load_audio(tmp_path / "pcm.flac")
    assert 80.0 < audio_psnr(pcm.samples, clip.samples) < 110.0  # 16-bit quantization
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_peak_normalization_and_gain(tmp_path):
    quiet = 0.25 * np.sin(np.linspace(0, 60, 2000)).astype(np.float32)
    sf.write(tmp_path / "quiet.wav", quiet, 8000, subtype="FLOAT")
    clip = load_audio(tmp_path / "quiet.wav")
    assert np.max(np.abs(clip.samples)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(clip.samples / clip.gain, quiet, atol=1e-6)
    kept = load_audio(tmp_path / "quiet.wav", peak_normalize=False)
    np.testing.assert_array_equal(kept.samples, quiet)


def test_stereo_downmix_warns_and_can_refuse(tmp_path):
    left = np.linspace(-0.5, 0.5, 800, dtype=np.float32)
    sf.write(tmp_path / "stereo.wav", np.stack([left, 0.5 * left], axis=1), 8000, subtype="FLOAT")
    with pytest.warns(UserWarning, match="2 channels"):
        clip = load_audio(tmp_path / "stereo.wav", peak_normalize=False)
    np.testing.assert_allclose(clip.samples, 0.75 * left, atol=1e-7)
    with pytest.raises(StafUserError, match="2 channels"):
        load_audio(tmp_path / "stereo.wav", mixdown=False)


@pytest.mark.parametrize(
    "loader, suffix, fix",
    [
        (lambda p: load_audio(p), ".wav", "WAV or FLAC"),
        (lambda p: load_mesh(p), ".obj", "OBJ, OFF or PLY"),
        (lambda p: load_image(p), ".png", "PNG or JPEG"),
    ],
    ids=["audio", "mesh", "image"],
)
def test_every_loader_refuses_a_missing_folder_or_empty_path_alike(tmp_path, loader, suffix, fix):
    """One check (staf_tasks.data.files) behind every loader: one line each, naming the file types to pass."""
    (tmp_path / f"folder{suffix}").mkdir()
    (tmp_path / f"empty{suffix}").write_bytes(b"")
    for name, problem in (
        (f"missing{suffix}", "not found"),
        (f"folder{suffix}", "is a folder"),
        (f"empty{suffix}", "empty (0 bytes)"),
    ):
        with pytest.raises(StafUserError, match=re.escape(problem)) as err:
            loader(tmp_path / name)
        message = str(err.value)
        assert fix in message and str(tmp_path / name) in message and "\n" not in message


def test_bad_audio_files(tmp_path):
    with pytest.raises(StafUserError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(StafUserError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "noframes.wav", np.zeros((0,), dtype=np.float32), 8000)
    with pytest.raises(StafUserError, match="no samples"):
        load_audio(tmp_path / "noframes.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n")
    with pytest.raises(StafUserError, match="cannot read audio"):
        load_audio(tmp_path / "text.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(100, dtype=np.float32), 8000)
    with pytest.raises(StafUserError, match="silent"):
        load_audio(tmp_path / "silent.wav")


def test_audio_coords_and_psnr():
    t = audio_coords(5)
    assert t.shape == (5, 1) and t[0, 0] == -1.0 and t[-1, 0] == 1.0
    target = np.zeros(1000, dtype=np.float32)
    assert audio_psnr(target + 0.01, target) == pytest.approx(40.0)  # -10 log10(1e-4): the authors' definition
    with pytest.raises(ValueError):
        audio_psnr(target[:10], target)


def test_waveform_plot(tmp_path):
    clip = synth_default_clip(seconds=0.2, samplerate=8000)
    out = plot_waveforms(tmp_path / "wave.png", clip.samples, 0.9 * clip.samples, clip.samplerate, title="t")
    assert out.stat().st_size > 10_000


# --- shape --------------------------------------------------------------------------------------------------------


def _ball(resolution, radius):
    x = grid_axis(resolution)
    xx, yy, zz = np.meshgrid(x, x, x, indexing="ij")
    return xx**2 + yy**2 + zz**2 < radius**2


@pytest.mark.parametrize("resolution", [32, 33])  # 33 puts grid lines through the sphere's vertices (ties)
def test_sphere_occupancy_matches_analytic_ball(resolution):
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.8)
    occ = occupancy_grid(sphere, resolution)
    ball = _ball(resolution, 0.8)
    assert occ.dtype == np.bool_ and occ.shape == (resolution,) * 3
    assert np.count_nonzero(occ != ball) <= 0.02 * np.count_nonzero(ball)
    assert iou(occ, ball) > 0.98
    # Exactly right where rays graze the mesh's vertices and edges (the planes x = 0 and y = 0 when R is odd).
    x = grid_axis(resolution)
    on_planes = np.zeros_like(occ)
    on_planes[resolution // 2], on_planes[:, resolution // 2] = True, True
    pts = np.stack(np.meshgrid(x, x, x, indexing="ij"), axis=-1)[on_planes]
    assert np.array_equal(occ[on_planes], generalized_winding_number(sphere.vertices, sphere.faces, pts) > 0.5)


def test_occupancy_agrees_with_winding_numbers_on_the_knot():
    knot = default_mesh(tube_segments=96, ring_segments=12)  # a coarse knot keeps the winding numbers quick
    assert knot.is_watertight
    occ = occupancy_grid(knot, 24)
    assert 0.02 < occ.mean() < 0.2
    coords = shape_coords(24).numpy()
    gwn = generalized_winding_number(knot.vertices, knot.faces, coords[::7])
    assert np.array_equal(gwn > 0.5, occ.reshape(-1)[::7])  # same index order as shape_coords
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (3000, 3))
    assert np.array_equal(points_inside(knot, pts), generalized_winding_number(knot.vertices, knot.faces, pts) > 0.5)


def test_inverted_mesh_file_gives_the_same_occupancy(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    inverted = sphere.copy()
    inverted.invert()
    write_mesh(tmp_path / "inv.off", inverted)
    loaded = load_mesh(tmp_path / "inv.off")
    assert loaded.volume > 0
    assert np.array_equal(occupancy_grid(loaded, 20), occupancy_grid(load_mesh(tmp_path / "inv.off"), 20))
    assert iou(occupancy_grid(loaded, 20), _ball(20, 0.9)) > 0.9  # normalized to radius 0.9
    mixed = sphere.faces.copy()
    mixed[::2] = mixed[::2, ::-1]  # every other face turned around: watertight, but the winding is inconsistent
    trimesh.Trimesh(sphere.vertices, mixed, process=False).export(tmp_path / "mixed.obj")
    repaired = load_mesh(tmp_path / "mixed.obj")
    assert repaired.is_winding_consistent
    assert np.array_equal(occupancy_grid(repaired, 20), occupancy_grid(loaded, 20))


def test_non_watertight_mesh(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.8)
    keep = sphere.triangles_center[:, 2] < 0.78  # cut a small cap off the top
    open_mesh = trimesh.Trimesh(sphere.vertices, sphere.faces[keep], process=False)
    open_mesh.export(tmp_path / "open.ply")
    with pytest.raises(StafUserError, match="not watertight.*--allow-non-watertight"):
        load_mesh(tmp_path / "open.ply")
    with pytest.raises(StafUserError, match="not watertight"):
        occupancy_grid(open_mesh, 16)
    occ = occupancy_grid(open_mesh, 24, allow_non_watertight=True)
    closed = occupancy_grid(sphere, 24)
    assert np.count_nonzero(occ != closed) <= 0.01 * np.count_nonzero(closed)


def test_bad_mesh_files(tmp_path):
    with pytest.raises(StafUserError, match="not found"):
        load_mesh(tmp_path / "missing.obj")
    (tmp_path / "junk.ply").write_text("not a mesh at all\n")
    with pytest.raises(StafUserError):
        load_mesh(tmp_path / "junk.ply")


def test_iou():
    a = np.zeros((4, 4, 4), dtype=bool)
    a[:2] = True
    assert iou(a, a) == 1.0
    b = np.zeros_like(a)
    b[1:3] = True
    assert iou(a, b) == pytest.approx(1 / 3)
    assert iou(a.astype(np.float32) * 0.9, torch.from_numpy(a)) == 1.0  # numbers count where > 0.5


def test_chamfer_distance():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    assert chamfer_distance(sphere, sphere.copy(), num_points=20_000) < 0.01
    shift = 0.1
    moved = sphere.copy()
    moved.apply_translation([shift, 0.0, 0.0])
    # Each point's distance to the moved sphere is about |shift . n|, whose mean over a sphere is shift / 2.
    assert chamfer_distance(sphere, moved, num_points=20_000) == pytest.approx(shift / 2, rel=0.15)


def test_marching_cubes_recovers_the_sphere(tmp_path):
    values = _ball(48, 0.6).astype(np.float32)
    mesh = extract_mesh(torch.from_numpy(values))
    radii = np.linalg.norm(mesh.vertices, axis=1)
    assert mesh.is_watertight and mesh.volume > 0
    assert abs(radii.mean() - 0.6) < 2.0 / 47  # within one voxel
    assert abs(mesh.volume - 4 / 3 * math.pi * 0.6**3) < 0.05 * 4 / 3 * math.pi * 0.6**3
    assert len(extract_mesh(np.zeros((8, 8, 8))).faces) == 0
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.6)
    held = extract_mesh(occupancy_grid(sphere, 24, offset=0.5).astype(np.float32), offset=0.5)
    assert np.abs(held.vertices.mean(axis=0)).max() < 0.01  # centered: the half-step offset is undone
    write_mesh(tmp_path / "mc.ply", mesh)
    write_mesh(tmp_path / "mc.obj", mesh)
    for name in ("mc.ply", "mc.obj"):
        back = trimesh.load(tmp_path / name, force="mesh")
        assert len(back.faces) == len(mesh.faces)
    with pytest.raises(StafUserError, match="use .ply or .obj"):
        write_mesh(tmp_path / "mc.xyz", mesh)


def test_fit_pipeline_pieces_line_up(tmp_path):
    target = load_shape(None, 20)
    assert target.source == "builtin:trefoil" and target.occupancy.shape == (20, 20, 20)
    assert np.all(np.abs(target.mesh.vertices) <= 0.9 + 1e-9)
    coords = shape_coords(20)
    assert coords.shape == (8000, 3) and coords.dtype == torch.float32
    assert torch.equal(coords[(3 * 20 + 5) * 20 + 7], torch.tensor(grid_axis(20)[[3, 5, 7]], dtype=torch.float32))
    held = occupancy_grid(target.mesh, 20, offset=0.5)  # a grid between the training grid's points
    assert torch.equal(shape_coords(20, offset=0.5)[0], torch.full((3,), -1.0 + 1.0 / 19))
    assert 0.2 < iou(held, target.occupancy) < 1.0  # different points (a thin tube at 20^3: low overlap)
    held_mesh = extract_mesh(held.astype(np.float32), offset=0.5)
    assert chamfer_distance(held_mesh, target.mesh, num_points=5000) < 0.05
    pts, labels = sample_shape_points(target.mesh, 2000, seed=3)
    pts2, labels2 = sample_shape_points(target.mesh, 2000, seed=3)
    assert torch.equal(pts, pts2) and torch.equal(labels, labels2) and pts.shape == (2000, 3)
    assert 0.05 < labels.mean().item() < 0.6
    recon = extract_mesh(target.occupancy.astype(np.float32))
    assert chamfer_distance(recon, target.mesh, num_points=5000) < 0.05
    out = render_mesh_png(tmp_path / "shape.png", [target.mesh, recon], ["target", "reconstruction"], max_faces=2000)
    assert out.stat().st_size > 5_000

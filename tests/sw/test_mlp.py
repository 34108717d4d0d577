"""The int8 digits MLP: the shipped model and its provenance, the chaining of layer regions, the core
against the int8 numpy model (fsim on the whole test split, Verilator and Amaranth on 64 images,
cycle for cycle), and ``vta run mlp``."""

import json

import numpy as np
import pytest

from hw.config import VTAConfig
from sim import backends, cli
from sim.cli import CliError
from sw.fc import build_fc
from sw.mlp import (QuantLayer, QuantMLP, accuracy, check_chain, compile_mlp, float_forward,
                    with_inp)
from sw.pack import pack_inp


@pytest.fixture(scope="module")
def model():
    return QuantMLP.load()


def test_shipped_split_is_load_digits_split(model):
    from sw.mlp.train import load_split
    _, x_te, _, y_te = load_split(model.provenance["seed"])
    assert np.array_equal(model.x_test, x_te) and np.array_equal(model.y_test, y_te)


def test_provenance_accuracies_are_what_the_model_gives(model):
    acc = model.provenance["accuracy"]
    x = model.input_int8(model.x_test)
    assert accuracy(model.forward_float(model.x_test), model.y_test) == pytest.approx(acc["float_test"])
    assert accuracy(model.forward_int8(x), model.y_test) == pytest.approx(acc["int8_test"])
    assert acc["int8_test"] >= 0.95
    assert [l.shift for l in model.layers] == model.provenance["shifts"]


def test_retraining_reproduces_the_shipped_model(model):
    from sw.mlp.train import build_model
    again = build_model(model.provenance["seed"])
    for a, b in zip(again.layers, model.layers):
        assert a.shift == b.shift and a.clip == b.clip
        assert np.array_equal(a.w, b.w)


def test_int8_layer_is_the_fc_reference_with_saturation():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 128, (5, 20), dtype=np.int8)
    w = rng.integers(-128, 128, (7, 20), dtype=np.int8)
    got = QuantLayer(w=w, shift=6, clip=(0, 127)).forward(x)
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    assert np.array_equal(got, np.clip(acc >> 6, 0, 127))


def test_float_forward_relu_between_layers():
    w1, w2 = np.array([[1.0, -1.0]]), np.array([[2.0], [-3.0]])
    assert np.allclose(float_forward([w1, w2], np.array([[1.0, 3.0], [3.0, 1.0]])),
                       [[0.0, 0.0], [4.0, -6.0]])


def test_core_on_fsim_whole_test_split(model):
    x = model.input_int8(model.x_test)
    run = compile_mlp(model, 64).run(x, "fsim")
    assert np.array_equal(run.logits, model.forward_int8(x))
    assert all(l.exact for l in run.layers)
    assert accuracy(run.logits, model.y_test) >= 0.95


def test_layer_out_region_is_next_layer_inp_region(model):
    """The bytes layer i stores are the packed int8 output, padding included, that layer i+1 reads."""
    cfg = VTAConfig()
    x = model.input_int8(model.x_test[:10])
    comp = compile_mlp(model, 10, cfg)
    refs = model.forward_int8(x, all_layers=True)
    inp = pack_inp(x, cfg).tobytes()
    for i, fc in enumerate(comp.layers):
        res = backends.run(with_inp(fc, inp).program, "fsim")
        assert res.out == pack_inp(refs[i], cfg).tobytes()
        inp = res.out
    # The last layer's 10 outputs are padded to 16 channels with zeros.
    assert comp.layers[-1].tiles["padded_shape"][2] == 16


def test_chain_refusals(model):
    cfg = VTAConfig()
    a = build_fc(np.zeros((4, 16), np.int8), np.ones((32, 16), np.int8), config=cfg)
    b = build_fc(np.zeros((4, 48), np.int8), np.ones((8, 48), np.int8), config=cfg)
    with pytest.raises(ValueError, match="32 outputs feeds one with 48 inputs"):
        check_chain(a, b)
    c = build_fc(np.zeros((3, 32), np.int8), np.ones((8, 32), np.int8), config=cfg)
    with pytest.raises(ValueError, match="batches differ"):
        check_chain(a, c)
    with pytest.raises(ValueError, match="inp region of 64 bytes"):
        with_inp(a, bytes(10))
    bad = QuantMLP(layers=[QuantLayer(np.ones((16, 16), np.int8), 0, (1, 127))],
                   float_weights=[np.ones((16, 16))], input_scale=1.0, x_test=model.x_test,
                   y_test=model.y_test)
    with pytest.raises(ValueError, match="excludes 0"):
        compile_mlp(bad, 4)
    with pytest.raises(ValueError, match="positive integer"):
        compile_mlp(model, 0)


def test_core_on_verilator_and_amaranth_64_images(model):
    from tests.cocotb.conftest import require
    require("verilator")
    x = model.input_int8(model.x_test[:64])
    comp = compile_mlp(model, 64)
    ver = comp.run(x, "verilator")
    ama = comp.run(x, "amaranth")
    ref = model.forward_int8(x)
    assert np.array_equal(ver.logits, ref) and np.array_equal(ama.logits, ref)
    assert [l.cycles for l in ver.layers] == [l.cycles for l in ama.layers]
    assert [l.counters for l in ver.layers] == [l.counters for l in ama.layers]
    for l in ver.layers:
        assert l.exact and l.cycles >= l.bound


def _vta(capsys, *argv):
    args = cli.build_parser().parse_args(["run", *(str(a) for a in argv)])
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_cli_run_mlp_json(capsys, model):
    rc, out = _vta(capsys, "mlp", "--dataset", "digits", "--backend", "fsim", "--json")
    rep = json.loads(out)
    assert rc == 0 and rep["logits_equal"] and rep["images"] == len(model.x_test)
    assert rep["core_accuracy"] == rep["int8_accuracy"] >= 0.95
    assert rep["float_accuracy"] == pytest.approx(model.provenance["accuracy"]["float_test"])
    assert [l["out_features"] for l in rep["layers"]] == [128, 64, 10]
    assert all(l["bus_bound_cycles"] > 0 and l["compute_bound_cycles"] > 0 for l in rep["layers"])


def test_cli_run_mlp_text_and_refusals(capsys, tmp_path):
    rc, out = _vta(capsys, "mlp", "--backend", "fsim", "--images", "20", "--batch", "8")
    assert rc == 0 and "core logits equal the int8 model's: yes" in out and "20 test images" in out
    # the counters of every layer and batch, summed, with their meaning
    gemm = next(l for l in out.splitlines() if l.split()[:1] == ["gemm_counter"])
    assert "micro-op iterations" in gemm and int(gemm.split()[1]) > 0 and "Bus bound:" in out
    for argv, frag in ((["--images", "0"], "--images 0 must be"),
                       (["--batch", "0"], "--batch 0 must be"),
                       (["--model", str(tmp_path / "none.npz")], "cannot read the model"),
                       (["--config", str(tmp_path / "none.json")], "cannot read configuration")):
        with pytest.raises(CliError, match=frag) as e:
            _vta(capsys, "mlp", "--backend", "fsim", *argv)
        assert "\n" not in str(e.value)

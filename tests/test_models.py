"""The seed and edge models: shapes, parameter counts, the per-hop budget, the MAC counter."""
import numpy as np
import pytest

pytestmark = pytest.mark.tf


@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return pytest.importorskip("keras")


def test_seed_shapes_params_and_one_step(keras):
    from cleartune.train import models as M

    m = M.build_seed(variant="magnitude")
    assert m.input_shape == (None, 512, 256, 1)
    assert m.output_shape == (None, 512, 256, 1)
    assert m.get_layer("enc7").output.shape[1:] == (4, 2, 1024)           # 8192 values
    assert m.get_layer("latent").output.shape[1:] == (256,)
    assert m.get_layer("skip3_proj").output.shape[1:] == (64, 32, 256)    # conv3 (64,32,128) projected
    assert m.get_layer("skip5_proj").output.shape[1:] == (16, 8, 512)     # conv5 (16,8,256) projected
    cost = M.model_cost(m)
    assert cost.params == 27_559_681          # ~27 M, the obvious reading + two 1x1 projections
    assert 3.0e9 < cost.macs < 3.4e9          # MAC per clip
    m.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).uniform(-1, 1, (1, 512, 256, 1)).astype("float32")
    loss = m.train_on_batch(x, x)
    assert np.isfinite(float(np.ravel(loss)[0]))


def test_seed_polar_has_two_channels(keras):
    from cleartune.train import models as M

    m = M.build_seed(variant="polar", filters=(4, 4, 4, 4, 4, 4, 4))   # a thin copy: shapes only
    assert m.input_shape == (None, 512, 256, 2) and m.output_shape == (None, 512, 256, 2)
    with pytest.raises(ValueError, match="not available"):
        M.build_seed(variant="mask")


@pytest.mark.parametrize("variant", ["mask", "magnitude", "polar", "complex"])
def test_edge_within_budget(keras, variant):
    from cleartune.train import models as M

    m = M.build_edge(variant=variant, batch_size=1)
    two = variant in ("polar", "complex")
    assert m.input_shape == ((1, 8, 512, 2) if two else (1, 8, 512))
    assert m.output_shape == ((1, 512, 2) if two else (1, 512))
    cost = M.model_cost(m)
    M.check_edge_budget(cost)
    assert cost.macs <= 20_000_000 and cost.params <= 300_000
    x = np.random.default_rng(1).uniform(-1, 1, m.input_shape).astype("float32")
    y = np.asarray(m(x))
    assert y.shape == m.output_shape and np.all(np.isfinite(y))
    if variant == "mask":
        assert y.min() >= 0.0 and y.max() <= 1.0


def test_edge_is_causal_in_frames(keras):
    """The output depends on the K input frames only (no look-ahead exists: the input ends at the newest frame);
    changing the oldest frame changes the output, i.e. all K frames are used."""
    from cleartune.train import models as M

    m = M.build_edge(variant="magnitude", batch_size=1)
    x = np.random.default_rng(2).uniform(-1, 1, (1, 8, 512)).astype("float32")
    x2 = x.copy()
    x2[0, 0] = -1.0
    assert np.max(np.abs(np.asarray(m(x)) - np.asarray(m(x2)))) > 0


def test_mac_counter_by_hand(keras):
    from keras import layers

    from cleartune.train.models import model_cost

    inp = keras.Input((16, 3))
    x = layers.Conv1D(5, 3, padding="same", name="c")(inp)                        # 16*3*3*5 = 720
    x = layers.Dense(7, name="d")(x)                                              # 16*5*7 = 560
    img = layers.Reshape((16, 7, 1))(x)
    y = layers.Conv2DTranspose(2, 3, strides=2, padding="same", name="t")(img)   # 16*7*9*1*2 = 2016
    y = layers.Conv2D(4, 3, strides=2, padding="same", name="s")(y)              # 16*7*9*2*4 = 8064
    m = keras.Model(inp, y)
    cost = model_cost(m)
    per = {n: macs for n, _, macs in cost.per_layer}
    assert per["c"] == 720 and per["d"] == 560 and per["t"] == 2016 and per["s"] == 8064
    assert cost.macs == 720 + 560 + 2016 + 8064
    assert cost.params == m.count_params()
    assert "total" in cost.table()


def test_budget_check_refuses_big_models(keras):
    from cleartune.train.models import EdgeConfig, build_edge, check_edge_budget, model_cost

    big = build_edge(variant="mask", config=EdgeConfig(channels=96))
    with pytest.raises(ValueError, match="MAC per hop"):
        check_edge_budget(model_cost(big))

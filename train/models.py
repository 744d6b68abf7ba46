"""The denoiser models: the ``seed`` research preset and the streaming ``edge`` preset.

Both are plain Keras 3 functional models built from standard layers only (no custom
layers, no Lambda), so a ``.keras`` file loads without importing cleartune and converts
to int8 TFLite with the stock converter.

``seed`` (the original write-up, faithfully)
    input ``(512, 256, C)``: the per-clip scaled polar features as an image,
    frequency x frames (``variants.to_seed_image``), ``C = 1`` (rho, the seed) or
    ``C = 2`` (rho and theta, the ``polar`` variant).  Seven 3x3 stride-2 ``Conv2D``
    (32, 64, 128, 256, 256, 512, 1024 filters, ReLU) take it to ``(4, 2, 1024)`` = 8192
    values; ``Flatten`` -> ``Dense(256)`` (the linear latent, layer ``"latent"``) ->
    ``Dense(8192)`` -> ``Reshape(4, 2, 1024)`` -> seven mirrored 3x3 stride-2
    ``Conv2DTranspose`` (1024, 512, 256, 256, 128, 64, 32 filters, ReLU) back to
    ``(512, 256, 32)`` -> a 1x1 ``Conv2D`` with ``C`` filters and ``tanh`` (features are
    in ``[-1, 1]``).

    *Skip connections.*  The write-up adds the 3rd and 5th encoder convolutions to the
    mirrored decoder layers, but the shapes do not match: conv3 gives ``(64, 32, 128)``
    where the decoder layer of the same resolution gives ``(64, 32, 256)``, conv5 gives
    ``(16, 8, 256)`` against ``(16, 8, 512)``.  We keep the additive skips at the decoder
    layer of the same *resolution* (4th and 2nd transposed convolutions) and pass the
    encoder tensor through a linear 1x1 ``Conv2D`` projection to the decoder's channel
    count (``skip3_proj``: 128 -> 256, ``skip5_proj``: 256 -> 512).  ~27.4 M parameters.

``edge`` (what ships on the Pi)
    input ``(B, K, 512)``: the last ``K`` STFT frames of the noisy signal as scaled
    features, ``rho / feature_max`` in ``[-1, 1]`` with the fixed dB range (newest frame
    last), exactly what the runtime computes each hop.  Variants with two channels per
    bin (``polar``: rho and theta; ``complex``: compressed real and imaginary parts) take
    ``(B, K, 512, 2)``.  The model is causal and streaming: its output ``(B, 512)``
    (``(B, 512, 2)`` for two-channel variants) describes the *newest* frame only, so the
    algorithmic latency is one frame (``n_fft // 2`` samples after its centre, 23 ms)
    with no look-ahead.

    Layout: frequency is the spatial axis, the ``K`` frames (times channels) are the
    input channels of a ``Conv1D`` along frequency; then residual blocks of dilated
    ``Conv1D`` (kernel 3, dilations 1, 2, 4, 8, 16: with the first 7-bin kernel a
    receptive field of +-34 bins = +-730 Hz, about nine partials of the lowest string)
    with ReLU, no batch norm; a
    per-bin head of two 1x1 convolutions (``head_channels`` wide, then the output
    channels) with the variant's activation.  Every op maps to an int8 TFLite builtin
    (TRANSPOSE/RESHAPE, CONV_2D, ADD, RELU, LOGISTIC/TANH).  Budget: <= 20 M MAC per hop,
    <= 300 k parameters (checked by :func:`check_edge_budget`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from cleartune.edge.params import EDGE, SEED, SignalParams

#: Variant name -> (input channels per bin, output channels per bin, output activation).
VARIANTS: dict[str, tuple[int, int, str]] = {
    "mask": (1, 1, "sigmoid"),        # ratio mask in [0, 1] applied to the noisy complex STFT
    "magnitude": (1, 1, "tanh"),      # clean rho / feature_max, noisy phase
    "polar": (2, 2, "tanh"),          # clean rho / feature_max and theta (phase / pi)
    "complex": (2, 2, "linear"),      # power-compressed clean real and imaginary parts
}
SEED_VARIANTS = ("magnitude", "polar")

#: Seed encoder filters (the write-up: 2^5 .. 2^10) and the latent size.
SEED_FILTERS: tuple[int, ...] = (32, 64, 128, 256, 256, 512, 1024)
SEED_LATENT = 256
#: Encoder convolutions (1-based) whose outputs are added to the decoder.
SEED_SKIPS: tuple[int, ...] = (3, 5)

#: Edge budget per hop.
EDGE_MAX_MACS = 20_000_000
EDGE_MAX_PARAMS = 300_000


@dataclass(frozen=True)
class EdgeConfig:
    """Hyper-parameters of the edge model.

    context_frames  K, STFT frames in (the newest last), ``K * hop / sample_rate`` of history
    channels        width of the frequency-convolution trunk
    in_kernel       kernel (bins) of the first convolution over the K frames
    dilations       one residual block (3-bin kernel) per dilation
    head_channels   width of the per-bin 1x1 head before the output layer
    time_channels   if > 0, a linear 1x1 convolution first compresses the K (x channels)
                    values of each bin to this many (learned temporal filters shared by
                    all bins), which makes a long context cheap
    """

    context_frames: int = 8
    channels: int = 40
    in_kernel: int = 7
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)
    head_channels: int = 64
    time_channels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"context_frames": self.context_frames, "channels": self.channels, "in_kernel": self.in_kernel,
                "dilations": list(self.dilations), "head_channels": self.head_channels,
                "time_channels": self.time_channels}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EdgeConfig":
        d = dict(d)
        if "dilations" in d:
            d["dilations"] = tuple(int(x) for x in d["dilations"])
        return cls(**d)


def _check_variant(variant: str, *, preset: str) -> None:
    allowed = SEED_VARIANTS if preset == "seed" else tuple(VARIANTS)
    if variant not in allowed:
        raise ValueError(f"variant {variant!r} is not available for the {preset} preset; choose one of {list(allowed)}")


def build_seed(*, variant: str = "magnitude", params: SignalParams = SEED, latent: int = SEED_LATENT,
               filters: Sequence[int] = SEED_FILTERS, batch_size: int | None = None):
    """The seed autoencoder (see the module docstring).

    Input and output ``(batch, n_bins, frames_per_clip, C)`` = ``(B, 512, 256, C)``,
    ``C = 1`` for ``magnitude`` and 2 for ``polar``; features in ``[-1, 1]``.
    ``filters`` may be shrunk for tests (the decoder mirrors it).  The latent layer is
    named ``"latent"``."""
    import keras
    from keras import layers

    _check_variant(variant, preset="seed")
    c = VARIANTS[variant][0]
    h, w = params.n_bins, params.frames_per_clip
    n = len(filters)
    if h % (2 ** n) or w % (2 ** n):
        raise ValueError(f"input {(h, w)} is not divisible by 2**{n}")
    inp = keras.Input((h, w, c), batch_size=batch_size, name="features")
    x = inp
    enc = []
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu", name=f"enc{i}")(x)
        enc.append(x)
    bh, bw, bc = h // 2 ** n, w // 2 ** n, filters[-1]
    x = layers.Flatten(name="flatten")(x)
    z = layers.Dense(latent, name="latent")(x)
    x = layers.Dense(bh * bw * bc, activation="relu", name="expand")(z)
    x = layers.Reshape((bh, bw, bc), name="unflatten")(x)
    dec_filters = list(reversed(filters))
    for j, f in enumerate(dec_filters, start=1):
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu", name=f"dec{j}")(x)
        # decoder layer j has the resolution of encoder layer n - j (dec n has the input's)
        k = n - j
        if k in SEED_SKIPS:
            skip = enc[k - 1]
            if skip.shape[-1] != f:
                skip = layers.Conv2D(f, 1, name=f"skip{k}_proj")(skip)
            x = layers.Add(name=f"skip{k}")([x, skip])
    out = layers.Conv2D(c, 1, activation="tanh", name="out")(x)
    return keras.Model(inp, out, name=f"seed_{variant}")


def build_edge(*, variant: str = "mask", params: SignalParams = EDGE, config: EdgeConfig = EdgeConfig(),
               batch_size: int | None = None):
    """The streaming edge denoiser (see the module docstring).

    Input ``(B, K, n_bins)`` (or ``(B, K, n_bins, 2)``), output ``(B, n_bins)`` (or
    ``(B, n_bins, 2)``) for the newest frame.  ``batch_size=1`` fixes the export shape."""
    import keras
    from keras import layers

    _check_variant(variant, preset="edge")
    cin, cout, act = VARIANTS[variant]
    k, nb, ch = config.context_frames, params.n_bins, config.channels
    if cin == 1:
        inp = keras.Input((k, nb), batch_size=batch_size, name="frames")
        x = layers.Permute((2, 1), name="freq_major")(inp)                     # (B, nb, K)
    else:
        inp = keras.Input((k, nb, cin), batch_size=batch_size, name="frames")
        x = layers.Permute((2, 1, 3), name="freq_major")(inp)                  # (B, nb, K, cin)
        x = layers.Reshape((nb, k * cin), name="stack_channels")(x)            # (B, nb, K*cin)
    if config.time_channels:
        x = layers.Conv1D(config.time_channels, 1, name="time_mix")(x)             # (B, nb, time_channels)
    x = layers.Conv1D(ch, config.in_kernel, padding="same", activation="relu", name="in_conv")(x)
    for d in config.dilations:
        y = layers.Conv1D(ch, 3, dilation_rate=d, padding="same", activation="relu", name=f"dil{d}")(x)
        x = layers.Add(name=f"res{d}")([x, y])
    x = layers.Conv1D(config.head_channels, 1, activation="relu", name="head")(x)
    x = layers.Conv1D(cout, 1, activation=act, name="out_conv")(x)            # (B, nb, cout)
    if cout == 1:
        x = layers.Reshape((nb,), name="out")(x)
    else:
        x = layers.Reshape((nb, cout), name="out")(x)
    return keras.Model(inp, x, name=f"edge_{variant}")


def build(preset: str, *, variant: str, params: SignalParams | None = None, edge_config: EdgeConfig | None = None,
          batch_size: int | None = None):
    """Build the model of ``preset`` ("seed" or "edge") and ``variant``."""
    if preset == "seed":
        return build_seed(variant=variant, params=params or SEED, batch_size=batch_size)
    if preset == "edge":
        return build_edge(variant=variant, params=params or EDGE, config=edge_config or EdgeConfig(),
                          batch_size=batch_size)
    raise ValueError(f"unknown preset {preset!r}; choose seed or edge")


# -- counting ---------------------------------------------------------------------------

def _prod(xs) -> int:
    p = 1
    for v in xs:
        p *= int(v)
    return p


def layer_macs(layer) -> int:
    """Multiply-accumulates of one layer for ONE example, from its input/output shapes.

    Conv (1-D/2-D): output positions x kernel size x in/groups x out channels;
    transposed conv: input positions x kernel size x in x out; depthwise conv: output
    positions x kernel x channels x multiplier; dense: leading positions x in x units.
    Activations, additions and reshapes are not counted (a few per value, < 1 %)."""
    from keras import layers

    def shp(t):
        return tuple(t.shape[1:])

    if isinstance(layer, (layers.Conv1DTranspose, layers.Conv2DTranspose, layers.Conv3DTranspose)):
        ins = shp(layer.input)
        return _prod(ins[:-1]) * _prod(layer.kernel_size) * ins[-1] * layer.filters
    if isinstance(layer, (layers.DepthwiseConv1D, layers.DepthwiseConv2D)):
        outs = shp(layer.output)
        return _prod(outs[:-1]) * _prod(layer.kernel_size) * outs[-1]
    if isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Conv3D)):
        ins, outs = shp(layer.input), shp(layer.output)
        return _prod(outs[:-1]) * _prod(layer.kernel_size) * (ins[-1] // layer.groups) * layer.filters
    if isinstance(layer, layers.Dense):
        ins = shp(layer.input)
        return _prod(ins[:-1]) * ins[-1] * layer.units
    return 0


@dataclass
class ModelCost:
    params: int
    macs: int
    per_layer: list[tuple[str, int, int]] = field(default_factory=list)   # (name, params, MACs)

    def table(self) -> str:
        w = max([len(n) for n, _, _ in self.per_layer] + [5])
        lines = [f"{'layer':<{w}}  {'params':>10}  {'MACs':>14}"]
        lines += [f"{n:<{w}}  {p:>10,}  {m:>14,}" for n, p, m in self.per_layer if p or m]
        lines.append(f"{'total':<{w}}  {self.params:>10,}  {self.macs:>14,}")
        return "\n".join(lines)


def model_cost(model) -> ModelCost:
    """Parameters and MACs per example (= per hop for the edge model) of a built model."""
    per = [(layer.name, int(layer.count_params()), layer_macs(layer)) for layer in model.layers]
    return ModelCost(params=int(model.count_params()), macs=sum(m for _, _, m in per), per_layer=per)


def check_edge_budget(cost: ModelCost, *, max_macs: int = EDGE_MAX_MACS, max_params: int = EDGE_MAX_PARAMS) -> None:
    """Raise ``ValueError`` if an edge model exceeds the per-hop budget."""
    if cost.macs > max_macs:
        raise ValueError(f"edge model needs {cost.macs:,} MAC per hop, over the budget of {max_macs:,}")
    if cost.params > max_params:
        raise ValueError(f"edge model has {cost.params:,} parameters, over the budget of {max_params:,}")

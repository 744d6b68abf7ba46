"""The guitar-pitch model: harmonic stacking and convolutions over log frequency, then a GRU
per pitch bin (gates are convolutions over neighbouring pitch bins, weights shared over pitch:
the memory of the pluck), then a per-bin salience head and a "no guitar" logit.

One step (one tracker reading)::

    features (n_bins, 2) --harmonic stack--> (n_pitch, 2 * len(HARMONICS))   bin i + 36*log2(h), zero-padded
      --Conv1D c, k5, ReLU--> --Conv1D c, k5, dilation 3 (semitones), ReLU--> --Conv1D L, k1, ReLU--> x (n_pitch, L)
    GRU over time, per pitch bin (Conv1D over pitch, kernel k, "same"):
        z = sig(Cz [x, h]), r = sig(Cr [x, h]), n = tanh(Cx x + r * (Ch h)), h' = n + z * (h - n)   h: (n_pitch, H)
    head: Conv1D head, k1, ReLU on [h', x] = q -> Conv1D 1 -> pitch logits (n_pitch,)
          GlobalMaxPool(q) -> Dense 1 -> "no guitar" logit
    softmax over the n_pitch + 1 logits

Every weight is shared across pitch, so a harmonic pattern learned on one note serves every
note (a shift on the log-frequency axis), and the state remembers per pitch what was plucked.

The exported model is one step with one input and one output (batch 1) so that the int8
TFLite file has a single int8 tensor each way (see :func:`build_step_model`)::

    in  (1, n_bins * 2 + n_pitch * H) = [features.ravel(), state h.ravel()]
    out (1, n_pitch + 1 + n_pitch * H) = [salience (softmax, last = no guitar), new state h'.ravel()]

Training unrolls the very same layer objects over whole clips (:meth:`PitchLayers.unroll`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from cleartune.edge.guitar_features import GuitarFeatureParams

#: Harmonics stacked per pitch bin (0.5: the octave below, which separates f0 from 2 f0).
HARMONICS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
#: Budget per call (one call per reading): 0.5 G MAC/s at 21.5 readings/s.
MAX_MACS_PER_CALL = 23_000_000


@dataclass(frozen=True)
class PitchModelConfig:
    """Hyper-parameters.  channels: conv width of the frontend; local: per-bin features fed to
    the GRU; hidden: GRU state channels per pitch bin (state size n_pitch x hidden); kernel:
    pitch bins each GRU gate sees (neighbours); head: per-bin head width."""

    channels: int = 32
    local: int = 16
    hidden: int = 16
    kernel: int = 3
    head: int = 16
    harmonics: tuple[float, ...] = HARMONICS

    def to_dict(self) -> dict[str, Any]:
        return {"channels": self.channels, "local": self.local, "hidden": self.hidden, "kernel": self.kernel,
                "head": self.head, "harmonics": list(self.harmonics)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PitchModelConfig":
        d = dict(d)
        if "harmonics" in d:
            d["harmonics"] = tuple(float(h) for h in d["harmonics"])
        return cls(**d)


def harmonic_offsets(fp: GuitarFeatureParams, harmonics: Sequence[float]) -> list[int]:
    """Feature-bin offset of harmonic ``h`` from its fundamental: round(12 * bps * log2 h)."""
    return [int(round(12 * fp.bins_per_semitone * math.log2(h))) for h in harmonics]


class PitchLayers:
    """The layer objects (weights) shared by the one-step export model and the unrolled
    training model.  ``frontend(feat)`` -> x (B, n_pitch, L); ``cell([x, h])`` -> h'
    (B, n_pitch, H); ``head([h', x])`` -> logits (B, n_pitch + 1)."""

    def __init__(self, fp: GuitarFeatureParams, cfg: PitchModelConfig = PitchModelConfig()):
        import keras
        from keras import layers

        self.fp, self.cfg = fp, cfg
        c, npch = cfg.channels, fp.n_pitch
        offs = harmonic_offsets(fp, cfg.harmonics)
        p0 = fp.pitch_offset
        lo = min(0, min(p0 + o for o in offs))
        hi = max(0, max(p0 + o + npch for o in offs) - fp.n_bins)
        self.pad = (-lo, hi)
        self.starts = [p0 + o - lo for o in offs]

        # frontend: (B, n_bins, 2) -> local features (B, n_pitch, local)
        feat = keras.Input((fp.n_bins, fp.channels), name="features")
        y = layers.ZeroPadding1D(self.pad, name="hpad")(feat) if (self.pad[0] or self.pad[1]) else feat
        parts = [layers.Cropping1D((s, y.shape[1] - s - npch), name=f"harm{i}")(y) for i, s in enumerate(self.starts)]
        y = layers.Concatenate(axis=-1, name="hstack")(parts)                              # (B, n_pitch, 2*nh)
        y = layers.Conv1D(c, 5, padding="same", activation="relu", name="conv1")(y)
        y = layers.Conv1D(c, 5, padding="same", dilation_rate=fp.bins_per_semitone, activation="relu", name="conv2")(y)
        x = layers.Conv1D(cfg.local, 1, activation="relu", name="conv3")(y)                 # (B, n_pitch, local)
        self.frontend = keras.Model(feat, x, name="frontend")

        # cell: a GRU per pitch bin (weights shared over pitch, k-bin neighbourhood): (x, h) -> h'
        k, hd = cfg.kernel, cfg.hidden
        xi = keras.Input((npch, cfg.local), name="x")
        hi_ = keras.Input((npch, hd), name="h")
        xh = layers.Concatenate(name="xh")([xi, hi_])
        z = layers.Conv1D(hd, k, padding="same", activation="sigmoid", name="gru_z")(xh)
        r = layers.Conv1D(hd, k, padding="same", activation="sigmoid", name="gru_r")(xh)
        nx = layers.Conv1D(hd, k, padding="same", name="gru_nx")(xi)
        nh = layers.Conv1D(hd, k, padding="same", name="gru_nh")(hi_)
        n = layers.Activation("tanh", name="gru_n")(layers.Add(name="gru_nsum")([nx, layers.Multiply(name="gru_rh")([r, nh])]))
        hn = layers.Add(name="gru_out")([n, layers.Multiply(name="gru_zd")([z, layers.Subtract(name="gru_d")([hi_, n])])])
        self.cell = keras.Model([xi, hi_], hn, name="cell")

        # head: (h', x) -> logits (n_pitch + 1)
        hh = keras.Input((npch, hd), name="h_new")
        li = keras.Input((npch, cfg.local), name="x_in")
        hx = layers.Concatenate(name="hx")([hh, li])
        q = layers.Conv1D(cfg.head, 1, activation="relu", name="head_conv")(hx)
        pl = layers.Conv1D(1, 1, name="pitch_logit")(q)
        pl = layers.Reshape((npch,), name="pitch_logits")(pl)
        g = layers.GlobalMaxPooling1D(name="pool")(q)
        ng = layers.Dense(1, name="none_logit")(g)
        logits = layers.Concatenate(name="logits")([pl, ng])
        self.head = keras.Model([hh, li], logits, name="head")

    @property
    def state_shape(self) -> tuple[int, int]:
        return (self.fp.n_pitch, self.cfg.hidden)

    @property
    def state_size(self) -> int:
        return self.fp.n_pitch * self.cfg.hidden

    @property
    def models(self):
        return (self.frontend, self.cell, self.head)

    def get_weights(self) -> list[np.ndarray]:
        return [w for m in self.models for w in m.get_weights()]

    def set_weights(self, ws: list[np.ndarray]) -> None:
        i = 0
        for m in self.models:
            n = len(m.get_weights())
            m.set_weights(ws[i:i + n])
            i += n

    @property
    def trainable_variables(self):
        return [v for m in self.models for v in m.trainable_variables]

    def count_params(self) -> int:
        return sum(int(m.count_params()) for m in self.models)

    def unroll(self, feats, h0=None, *, training: bool = False):
        """Logits of a batch of sequences: ``feats`` (B, T, n_bins, 2) -> ``(logits (B, T,
        n_pitch + 1), h_T (B, n_pitch, H))``, the state carried from ``h0`` (zeros by default)."""
        import tensorflow as tf

        fp, cfg = self.fp, self.cfg
        b, t = tf.shape(feats)[0], feats.shape[1]
        flat = tf.reshape(feats, (-1, fp.n_bins, fp.channels))
        x = self.frontend(flat, training=training)
        x = tf.reshape(x, (b, t, fp.n_pitch, cfg.local))
        h = tf.zeros((b, fp.n_pitch, cfg.hidden)) if h0 is None else h0
        hs = []
        for i in range(t):
            h = self.cell([x[:, i], h], training=training)
            hs.append(h)
        hs = tf.reshape(tf.stack(hs, axis=1), (-1, fp.n_pitch, cfg.hidden))
        logits = self.head([hs, tf.reshape(x, (-1, fp.n_pitch, cfg.local))], training=training)
        return tf.reshape(logits, (b, t, fp.n_pitch + 1)), h


def build_step_model(pl: PitchLayers):
    """The one-step export model (batch 1): ``(1, n_bins*2 + S) -> (1, n_pitch + 1 + S)``, S = n_pitch * H,
    input ``[features.ravel(), h]``, output ``[softmax salience, h']`` (module docstring)."""
    import keras
    from keras import layers

    fp = pl.fp
    nf = fp.n_bins * fp.channels
    ns = pl.state_size
    inp = keras.Input((nf + ns,), batch_size=1, name="step_in")
    f = layers.Reshape((nf + ns, 1), name="as_seq")(inp)
    feat = layers.Cropping1D((0, ns), name="take_features")(f)
    feat = layers.Reshape((fp.n_bins, fp.channels), name="features_2d")(feat)
    h = layers.Cropping1D((nf, 0), name="take_state")(f)
    h = layers.Reshape(pl.state_shape, name="state")(h)
    x = pl.frontend(feat)
    hn = pl.cell([x, h])
    logits = pl.head([hn, x])
    sal = layers.Softmax(name="salience")(logits)
    out = layers.Concatenate(name="step_out")([sal, layers.Flatten(name="state_out")(hn)])
    return keras.Model(inp, out, name="guitar_pitch_step")


@dataclass
class Cost:
    params: int
    macs: int
    per_layer: list[tuple[str, int, int]] = field(default_factory=list)

    def table(self) -> str:
        w = max([len(n) for n, _, _ in self.per_layer] + [5])
        lines = [f"| {'layer':<{w}} | {'params':>8} | {'MAC per call':>12} |", f"|{'-' * (w + 2)}|---------:|-------------:|"]
        lines += [f"| {n:<{w}} | {p:>8,} | {m:>12,} |" for n, p, m in self.per_layer if p or m]
        lines.append(f"| {'**total**':<{w}} | {self.params:>8,} | {self.macs:>12,} |")
        return "\n".join(lines)


def cost(pl: PitchLayers) -> Cost:
    """Parameters and MACs of one step (one reading), from layer shapes."""
    from cleartune.train.models import layer_macs

    per = []
    for m in pl.models:
        for layer in m.layers:
            per.append((layer.name, int(layer.count_params()), layer_macs(layer)))
    return Cost(params=pl.count_params(), macs=sum(x for _, _, x in per), per_layer=per)

"""cleartune: a guitar tuner with a small int8 denoiser in front of a precise pitch tracker.

The installed package maps the repository folders:

    cleartune.edge             edge/              what the Pi runs (no TensorFlow)
    cleartune.firmware_bridge  firmware_bridge/   serial, GPIO, terminal view, service
    cleartune.train            train/             datasets, models, training, evaluation
    cleartune.quantize         quantize/          int8 post-training quantization, reports
    cleartune.bench            bench/             benchmarks

Importing this package has no side effects and imports nothing heavy.
"""

__version__ = "0.1.0"

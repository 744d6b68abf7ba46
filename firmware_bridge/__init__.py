"""The live tuner on the Pi and what leaves it: the ``cleartune run`` loop (``cli_run``),
its configuration (``config``: TOML + flags, each setting declared once), wire formats
(text lines, COBS binary frames), the serial, GPIO, stdout and terminal outputs (``sink``,
``outputs``), the headless systemd service, and the C decoder for the microcontroller
side (``c/``).

Nothing here imports TensorFlow, and importing a module has no side effects: serial
ports, GPIO pins and threads are opened only when an output is made.
"""

"""What leaves the Pi: wire formats (text lines, COBS binary frames), the serial, GPIO,
stdout and terminal outputs, the run configuration (TOML + flags), the headless systemd
service, and the C decoder for the microcontroller side (``c/``).

Nothing here imports TensorFlow, and importing a module has no side effects: serial
ports, GPIO pins and threads are opened only when an output is made.
"""

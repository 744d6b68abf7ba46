"""Everything the Raspberry Pi runs: signal parameters, features, framing, the LiteRT
loader, pitch and note naming.  Never imports TensorFlow; imports nothing heavy at
package import time."""

import sys
sys.path.insert(0, str(__import__('pathlib').Path(__file__).parent))
import rootfinder
root = rootfinder.install(sys.argv[1])
from cleartune.cli import main
rc = main(["bench", "latency", "--out", sys.argv[2], "--no-pyin", "--threads", "1", "--quiet"])
print("outside:", rootfinder.outside(root) or "none", file=sys.stderr)
sys.exit(rc)

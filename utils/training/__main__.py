"""``python -m utils.training --profile cpu --model data``: train one model from the command line (see --help)."""
import sys

from utils.training.loop import main

sys.exit(main())

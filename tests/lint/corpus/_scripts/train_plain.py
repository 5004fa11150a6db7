"""A custom training entry point (lint corpus) that declares no hyperparameter table."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--max_depth", type=int, default=6)
print(parser.parse_known_args()[0])

"""A custom training entry point (lint corpus): it declares the hyperparameters it accepts."""

import argparse

HYPERPARAMETERS = {"max_depth": 6, "eta": 0.3, "subsample": 1.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    for name, default in HYPERPARAMETERS.items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    print(parser.parse_known_args()[0])


if __name__ == "__main__":
    main()

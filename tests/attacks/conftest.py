"""Attack-corpus tests: make ``attack_corpus`` (beside this file) importable.

The project runs pytest with ``--import-mode=importlib``, which leaves sys.path alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

"""Build hook: a wheel (or a build from the sdist) carries the shipped models' inference files.

``models/*.json`` (sidecars, judges, figures), ``models/*.npz`` (NumPy weights) and
``models/*.md`` (cards) are copied into the package as ``midistyle/_models``, where
:func:`midistyle.registry.shipped_dir` finds them. The training-only ``.keras`` files, plots and
logs stay in the checkout. An editable install reads the checkout's ``models/`` directly.
Everything else is declared in ``setup.cfg``.
"""
import glob
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_PATTERNS = ("*.json", "*.npz", "*.md")


class BuildWithModels(build_py):
    """``build_py`` that also copies the shipped models into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = os.path.join(self.build_lib, "midistyle", "_models")
        os.makedirs(dest, exist_ok=True)
        for pattern in SHIPPED_PATTERNS:
            for path in sorted(glob.glob(os.path.join(HERE, "models", pattern))):
                shutil.copy2(path, dest)


setup(cmdclass={"build_py": BuildWithModels})

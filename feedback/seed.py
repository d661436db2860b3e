"""feedback's ``seed_demo`` steps (autodiscovered by the command). Each step lives in its own
module so the people working on feedback do not edit one file: surveys are in seed_surveys.py;
add history steps beside it and import them here."""

from . import seed_surveys  # noqa: F401  (registers the "feedback surveys" step)

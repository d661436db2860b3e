"""feedback's ``seed_demo`` steps (autodiscovered by the command). Each step lives in its own
module so the people working on feedback do not edit one file: surveys are in seed_surveys.py;
add history steps beside it and import them here."""

# Registers the "feedback history" (seed_history) and "feedback surveys" (seed_surveys) steps.
from . import seed_history, seed_surveys  # noqa: F401

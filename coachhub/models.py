"""Models of the core app: tenancy in ``coachhub.tenancy``, shared services in ``coachhub.core``."""

from coachhub.core.models import *  # noqa: F403
from coachhub.tenancy.models import *  # noqa: F403

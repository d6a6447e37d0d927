"""Imports every concept's table modules so the metadata is complete (for Alembic)."""

import miaopi.approval.models
import miaopi.audit.models
import miaopi.auth.models
import miaopi.events.models
import miaopi.licence.models
import miaopi.notifications.models
import miaopi.offers.models
import miaopi.proactive.models
import miaopi.review.models
import miaopi.scheduler.models
import miaopi.sharing.models  # noqa: F401

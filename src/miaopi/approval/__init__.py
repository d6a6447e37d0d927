"""秒批: from application to an explained, stored, replayable decision in milliseconds."""

from miaopi.approval.intake import ApplicationIn, IntakeError
from miaopi.approval.pipeline import ApprovalConflict, ApprovalService, Decision, NotAllowed, china_today
from miaopi.approval.progress import PublicProgress, public_progress
from miaopi.approval.replay import ReplayResult, replay
from miaopi.approval.stats import ItemFigures, item_figures

__all__ = [
    "ApplicationIn",
    "ApprovalConflict",
    "ApprovalService",
    "Decision",
    "IntakeError",
    "ItemFigures",
    "NotAllowed",
    "PublicProgress",
    "ReplayResult",
    "china_today",
    "item_figures",
    "public_progress",
    "replay",
]

"""Proactive cases (无感审批 / 服务跟踪): prepared from an event and shared data, pushed to the
subject, finished with a face check and one confirmation; figures per trigger."""

from miaopi.proactive.detect import Candidate, Detector
from miaopi.proactive.service import STATUS_LABELS, CaseNotFound, ProactiveConflict, ProactiveService
from miaopi.proactive.stats import TriggerFigures, trigger_figures

__all__ = [
    "STATUS_LABELS",
    "Candidate",
    "CaseNotFound",
    "Detector",
    "ProactiveConflict",
    "ProactiveService",
    "TriggerFigures",
    "trigger_figures",
]

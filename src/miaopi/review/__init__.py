"""Manual review (人工审核): what the machine did not decide, a department's reviewers decide.

Department-scoped: a reviewer sees and acts on the cases of their own department only. A case is
claimed by one reviewer at a time (an atomic conditional update, safe under concurrent claims) and
decided by that reviewer; a refusal cites the rule or law it rests on.
"""

from miaopi.review.queue import ReviewConflict, ReviewDecisionIn, ReviewQueue
from miaopi.review.ratings import GRADE_NAMES, FollowUpCloseIn, RatingIn, Ratings

__all__ = [
    "GRADE_NAMES",
    "FollowUpCloseIn",
    "RatingIn",
    "Ratings",
    "ReviewConflict",
    "ReviewDecisionIn",
    "ReviewQueue",
]

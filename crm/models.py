"""Every area's models, imported so the metadata (and Alembic) sees the whole schema."""

from crm.api.models import ApiToken
from crm.audit.models import AuditEntry
from crm.auth.models import Department, LoginAttempt, LoginThrottle, Role, User, UserSession
from crm.cooperation.models import Attachment, Cooperation, StageChange
from crm.cultivation.models import Candidate, CoachingStep
from crm.dedup.models import MergeRecord, NotDuplicate
from crm.enterprises.models import (
    Contact,
    Enterprise,
    EnterpriseAlias,
    EnterpriseYear,
    Industry,
    Recognition,
    Town,
)
from crm.events.models import Event, EventPairing, EventParticipant
from crm.imports.models import ImportBatch, ImportUpload
from crm.institutions.models import (
    Achievement,
    Branch,
    Institution,
    InstitutionAlias,
    Researcher,
)
from crm.matching.models import MatchRun, Suggestion, ThesaurusEntry
from crm.needs.models import Need
from crm.projects.models import Programme, Project, ProjectPartner, ProjectStageChange
from crm.submissions import FormSubmission
from crm.targets.models import Target, TargetShare
from crm.text.models import IndexVersion, MatchDoc, MatchVector, SearchTerm
from crm.visits.models import Task, Visit

__all__ = [
    "Achievement",
    "ApiToken",
    "Attachment",
    "AuditEntry",
    "Branch",
    "Candidate",
    "CoachingStep",
    "Contact",
    "Cooperation",
    "Department",
    "Enterprise",
    "FormSubmission",
    "EnterpriseAlias",
    "EnterpriseYear",
    "Event",
    "EventPairing",
    "EventParticipant",
    "ImportBatch",
    "ImportUpload",
    "Industry",
    "MatchRun",
    "MergeRecord",
    "Institution",
    "InstitutionAlias",
    "LoginAttempt",
    "LoginThrottle",
    "Need",
    "Programme",
    "Project",
    "ProjectPartner",
    "ProjectStageChange",
    "NotDuplicate",
    "Recognition",
    "Researcher",
    "Role",
    "SearchTerm",
    "MatchDoc",
    "MatchVector",
    "IndexVersion",
    "StageChange",
    "Suggestion",
    "Target",
    "TargetShare",
    "ThesaurusEntry",
    "Task",
    "Town",
    "User",
    "UserSession",
    "Visit",
]

"""One importer per kind of sheet: parse a row, find the record it means, create or update.

A row is matched on its natural key (USCC, then name for enterprises; name + institution for
researchers; enterprise + title for needs; title + institution for achievements; organisation +
name for contacts; number, then firm + programme + title for a published project list), so
importing the same file twice changes nothing. Blank cells never erase what is stored. New
records go through `crm.bulk.Creator`; changes to existing ones through the ORM, so the audit
and search hooks see them like any edit.
"""

from __future__ import annotations

from crm.imports.importers.base import Importer
from crm.imports.importers.contacts import ContactImporter
from crm.imports.importers.enterprises import EnterpriseImporter
from crm.imports.importers.institutions import (
    AchievementImporter,
    InstitutionImporter,
    ResearcherImporter,
)
from crm.imports.importers.needs import NeedImporter
from crm.imports.importers.projects import ProjectListImporter

IMPORTERS: dict[str, type[Importer]] = {
    "enterprises": EnterpriseImporter,
    "institutions": InstitutionImporter,
    "researchers": ResearcherImporter,
    "needs": NeedImporter,
    "achievements": AchievementImporter,
    "contacts": ContactImporter,
    "project_lists": ProjectListImporter,
}

"""Events about glossary terms and domains: their id-based subjects, the partition key rule for subjects outside any
source (the subject's own URN), the consistency of their payloads, and how URN-prefix filters treat them. The JSON
Schemas and the model must agree on every refusal, as for the other types."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from events import CatalogEvent, EventFilter, EventType
from events.curation_data import DomainFields, GlossaryTermFields, TermRef
from events.data import DomainCreated, DomainUpdated, GlossaryTermCreated, GlossaryTermUpdated
from events.examples import example_events
from events.schemas import SchemaValidationError, validate
from events.urns import partition_key_of, source_urn_of

EXAMPLES = example_events()
CURATION_TYPES = [t for t in EventType if t.value.startswith(("catalog.glossary_term.", "catalog.domain.")) and
                  t is not EventType.DOMAIN_CHANGED]


def term_created(term_id: int) -> CatalogEvent:
    return CatalogEvent.create(GlossaryTermCreated(id=term_id, name=f"term {term_id}", definition=None, parent=None),
                               subject=f"urn:catalog:glossary_term:{term_id}")


def both_reject(document: dict) -> tuple[str, str]:
    with pytest.raises(SchemaValidationError) as schema_error:
        validate(document)
    with pytest.raises(ValidationError) as model_error:
        CatalogEvent.model_validate(document)
    return schema_error.value.message, str(model_error.value)


def test_there_are_six_and_each_is_keyed_by_its_own_subject() -> None:
    assert len(CURATION_TYPES) == 6
    for event_type in CURATION_TYPES:
        event = EXAMPLES[event_type]
        validate(event)
        assert event.partitionkey == event.subject == partition_key_of(event.subject)
        assert event.subject.startswith(("urn:catalog:glossary_term:", "urn:catalog:domain:"))


def test_the_key_of_everything_inside_a_source_is_still_the_source() -> None:
    assert partition_key_of("urn:catalog:column:erp:sales:orders:total") == "urn:catalog:source:erp"
    assert partition_key_of("urn:catalog:source:erp") == "urn:catalog:source:erp"
    assert partition_key_of("urn:catalog:domain:3") == "urn:catalog:domain:3"
    with pytest.raises(ValueError, match="belongs to no source"):
        source_urn_of("urn:catalog:glossary_term:12")
    for event in EXAMPLES.values():
        if event.type not in CURATION_TYPES:
            assert event.partitionkey == source_urn_of(event.subject)


@pytest.mark.parametrize(("event_type", "change", "field"), [
    # a source's key on an event outside any source
    (EventType.DOMAIN_DELETED, {"partitionkey": "urn:catalog:source:erp"}, "partitionkey"),
    # a term's event about a domain, a dataset, a name instead of an id
    (EventType.GLOSSARY_TERM_UPDATED, {"subject": "urn:catalog:domain:12"}, "subject"),
    (EventType.DOMAIN_CREATED, {"subject": "urn:catalog:dataset:erp:sales:orders"}, "subject"),
    (EventType.GLOSSARY_TERM_DELETED, {"subject": "urn:catalog:glossary_term:Customer"}, "subject"),
    (EventType.GLOSSARY_TERM_CREATED, {"subject": "urn:catalog:glossary_term:0"}, "subject"),
])
def test_schema_and_model_refuse_a_wrong_subject_or_key(event_type: EventType, change: dict, field: str) -> None:
    schema_message, model_message = both_reject(EXAMPLES[event_type].to_dict() | change)
    assert field in schema_message and field in model_message


def test_a_source_scoped_event_keeps_its_source_key() -> None:
    column_added = EXAMPLES[EventType.COLUMN_ADDED].to_dict()
    schema_message, model_message = both_reject(column_added | {"partitionkey": "urn:catalog:glossary_term:1"})
    assert "partitionkey" in schema_message and "partitionkey" in model_message


def test_the_key_and_the_payloads_id_must_be_the_subjects() -> None:
    """Rules a JSON Schema cannot state (two fields equal): the model enforces them, naming the field."""
    with pytest.raises(ValidationError, match="partitionkey: must be the subject's own URN"):
        CatalogEvent.model_validate(EXAMPLES[EventType.GLOSSARY_TERM_CREATED].to_dict()
                                    | {"partitionkey": "urn:catalog:glossary_term:13"})
    document = EXAMPLES[EventType.DOMAIN_CREATED].to_dict()
    with pytest.raises(ValidationError, match="data.id"):
        CatalogEvent.model_validate(document | {"data": document["data"] | {"id": 4}})


def test_an_update_names_exactly_the_fields_that_changed() -> None:
    parent = TermRef(id=1, name="Customer")
    before = GlossaryTermFields(name="E-mail", definition="Where we write.", parent=None)
    after = GlossaryTermFields(name="E-mail", definition="Where we write to.", parent=parent)
    assert GlossaryTermUpdated.between(2, before, after).changed_fields == ["definition", "parent"]
    with pytest.raises(ValidationError, match="changed_fields"):  # none: nothing changed
        DomainUpdated.between(3, DomainFields(name="Sales", description=None), DomainFields(name="Sales",
                                                                                               description=None))
    with pytest.raises(ValidationError, match="changed_fields must list"):
        GlossaryTermUpdated(id=2, changed_fields=["name"], before=before, after=after)
    with pytest.raises(ValidationError):
        DomainCreated(id=0, name="Sales", description=None)


@pytest.mark.parametrize(("prefix", "subject", "expected"), [
    ("urn:catalog:glossary_term:1", "urn:catalog:glossary_term:1", True),
    ("urn:catalog:glossary_term:1", "urn:catalog:glossary_term:12", False),   # a whole URN: that term alone
    ("urn:catalog:glossary_term:", "urn:catalog:glossary_term:12", True),     # a partial prefix: as text
    ("urn:catalog:source:12", "urn:catalog:glossary_term:12", False),         # a term is in no source
    ("urn:catalog:", "urn:catalog:glossary_term:12", True),
])
def test_urn_prefix_filters_on_terms(prefix: str, subject: str, expected: bool) -> None:
    assert EventFilter.of(urn_prefix=prefix).matches(term_created(int(subject.rsplit(":", 1)[1]))) is expected


def test_type_filters_accept_the_new_types() -> None:
    only_created = EventFilter.of(event_types=["catalog.glossary_term.created", "catalog.domain.created"])
    assert only_created.matches(term_created(5))
    assert not only_created.matches(EXAMPLES[EventType.GLOSSARY_TERM_DELETED])

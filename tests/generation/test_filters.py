"""generation.filters.JobFilter: ``?state=`` on my jobs, shared by the history page and the
jobs API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from generation.models import GenerationJob
from tests.generation.factories import GenerationJobFactory

pytestmark = pytest.mark.django_db

JOBS = "/api/v1/jobs/"
HISTORY = "/generate/history/"
State = GenerationJob.State


@pytest.fixture
def api(member) -> APIClient:
    client = APIClient()
    client.force_authenticate(member)
    return client


def test_state_keeps_only_my_jobs_in_that_state(api, member):
    failed = GenerationJobFactory(user=member, state=State.FAILED)
    GenerationJobFactory(user=member, state=State.SUCCEEDED)
    GenerationJobFactory(state=State.FAILED)  # someone else's

    body = api.get(JOBS, {"state": "failed"}).json()

    assert [job["id"] for job in body["results"]] == [failed.pk]


def test_an_unknown_state_is_a_400_in_the_error_body(api):
    response = api.get(JOBS, {"state": "exploded"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid", ["state"])


def test_the_history_page_and_the_api_list_the_same_jobs_for_a_state(member_client, member, api):
    for state in (State.FAILED, State.SUCCEEDED, State.FAILED, State.QUEUED):
        GenerationJobFactory(user=member, state=state)

    page = member_client.get(HISTORY, {"state": "failed"}).context["page"]
    body = api.get(JOBS, {"state": "failed"}).json()

    assert [job.pk for job in page.object_list] == [job["id"] for job in body["results"]]
    assert body["count"] == 2


def test_the_history_page_ignores_an_unknown_state(member_client, member):
    jobs = [GenerationJobFactory(user=member, state=state) for state in State.values]

    response = member_client.get(HISTORY, {"state": "exploded"})

    assert response.status_code == 200
    assert response.context["page"].paginator.count == len(jobs)


def test_the_history_pages_links_keep_the_state(member_client, member):
    GenerationJobFactory.create_batch(21, user=member, state=State.FAILED)

    html = member_client.get(HISTORY, {"state": "failed"}).content.decode()

    assert 'href="?state=failed&amp;page=2"' in html


def test_a_filtered_history_takes_the_same_queries(
    member_client, member, django_assert_num_queries
):
    GenerationJobFactory.create_batch(3, user=member, state=State.FAILED)
    # session, user, count, jobs (with model versions), their images
    with django_assert_num_queries(5):
        assert member_client.get(HISTORY, {"state": "failed"}).status_code == 200


def test_the_schema_documents_the_states(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    parameters = {p["name"]: p for p in paths[JOBS]["get"]["parameters"]}

    assert set(parameters["state"]["schema"]["enum"]) == set(State.values)


def test_the_schema_leaves_state_off_a_jobs_results(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    parameters = {p["name"] for p in paths[JOBS + "{id}/results/"]["get"]["parameters"]}

    assert "state" not in parameters

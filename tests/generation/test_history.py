"""My generations: the history page, run again, delete."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from generation.models import GenerationJob
from generation.worker.execute import job_run
from tests.accounts.factories import UserFactory
from tests.gallery.factories import ImageFactory
from tests.generation.factories import GenerationJobFactory

pytestmark = pytest.mark.django_db
HISTORY = "/generate/history/"


def test_history_lists_only_my_jobs(member_client, member):
    mine = GenerationJobFactory(user=member, prompt="my own prompt")
    GenerationJobFactory(user=UserFactory(), prompt="someone else's prompt")
    html = member_client.get(HISTORY).content.decode()
    assert mine.prompt in html
    assert "someone else" not in html


def test_history_empty_state(member_client):
    assert "Nothing generated yet" in member_client.get(HISTORY).content.decode()


def test_history_needs_sign_in(client):
    assert client.get(HISTORY).status_code == 302


@pytest.mark.parametrize("jobs", [5, 15])
def test_history_query_count_does_not_grow_with_jobs(
    member_client, member, jobs, django_assert_num_queries
):
    for _ in range(jobs):
        job = GenerationJobFactory(user=member, state=GenerationJob.State.SUCCEEDED)
        ImageFactory(owner=member, job=job)
    # session, user, count, jobs (with model versions), their images
    with django_assert_num_queries(5):
        assert member_client.get(HISTORY).status_code == 200


def test_run_again_queues_the_same_request(member_client, member, tiny_version):
    job = GenerationJobFactory(
        user=member, model_version=tiny_version, state="succeeded", seed=-1, steps=7
    )
    response = member_client.post(reverse("generation:job_rerun", args=[job.pk]))
    new = GenerationJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == new.get_absolute_url()
    assert (new.prompt, new.seed, new.steps, new.state) == (job.prompt, -1, 7, "queued")


def test_run_again_of_someone_elses_job_is_not_found(member_client):
    job = GenerationJobFactory(user=UserFactory())
    response = member_client.post(reverse("generation:job_rerun", args=[job.pk]))
    assert response.status_code == 404
    assert GenerationJob.objects.count() == 1


def test_delete_removes_the_job_and_its_private_pictures(
    member_client, member, tiny_version, django_capture_on_commit_callbacks
):
    job = GenerationJobFactory(user=member, model_version=tiny_version)
    job_run(job_id=job.pk, worker="w")
    image = job.images.get()
    assert default_storage.exists(image.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("generation:job_delete", args=[job.pk]))
    assert response.status_code == 302
    assert not GenerationJob.objects.filter(pk=job.pk).exists()
    assert not type(image).objects.filter(pk=image.pk).exists()
    assert not default_storage.exists(image.file.name)


def test_delete_keeps_published_pictures(member_client, member):
    job = GenerationJobFactory(user=member, state="succeeded")
    published = ImageFactory(owner=member, job=job, published=True)
    member_client.post(reverse("generation:job_delete", args=[job.pk]))
    published.refresh_from_db()
    assert published.job is None
    assert default_storage.exists(published.file.name)


def test_delete_of_an_active_job_is_refused(member_client, member):
    job = GenerationJobFactory(user=member)  # queued
    response = member_client.post(reverse("generation:job_delete", args=[job.pk]), follow=True)
    assert "Cancel the job before deleting it." in response.content.decode()
    assert GenerationJob.objects.filter(pk=job.pk).exists()


def test_delete_of_someone_elses_job_is_not_found(member_client):
    job = GenerationJobFactory(user=UserFactory(), state="succeeded")
    assert member_client.post(reverse("generation:job_delete", args=[job.pk])).status_code == 404
    assert GenerationJob.objects.filter(pk=job.pk).exists()

"""The composition root's job kinds: the kinds the services request, each run by its service's handler."""

from __future__ import annotations

from catalog_api.bootstrap import JOB_KINDS
from catalog_api.services.crawl import CRAWL
from catalog_api.services.extraction import EXTRACT
from catalog_api.services.profiling.jobs import PROFILE
from catalog_api.services.profiling.report_jobs import REPORT
from catalog_api.services.quality.evaluation import QUALITY


def test_the_kinds_are_the_ones_the_services_request():
    assert {CRAWL, EXTRACT, PROFILE, REPORT, QUALITY, "ping"} == set(JOB_KINDS)


def test_each_kind_runs_its_services_handler(monkeypatch):
    # The handlers import their service late; each must reach the function its service runs jobs with.
    import catalog_api.services.backfill as extraction  # an extraction, or a backfill of one table
    import catalog_api.services.crawl as crawl
    import catalog_api.services.profiling.jobs as profiling
    import catalog_api.services.profiling.report_jobs as reports
    import catalog_api.services.quality.evaluation as evaluation

    called = []
    for module, name in ((crawl, "run_crawl_job"), (extraction, "run_extraction_job"), (profiling, "run_profile_job"),
                         (reports, "run_report_job"), (evaluation, "run_quality_job")):
        monkeypatch.setattr(module, name, lambda ctx, control, name=name, **_: called.append(name) or {"ran": name})
    results = {kind: JOB_KINDS[kind].handler(None, None) for kind in (CRAWL, EXTRACT, PROFILE, REPORT, QUALITY)}
    assert results == {CRAWL: {"ran": "run_crawl_job"}, EXTRACT: {"ran": "run_extraction_job"},
                       PROFILE: {"ran": "run_profile_job"}, REPORT: {"ran": "run_report_job"},
                       QUALITY: {"ran": "run_quality_job"}}

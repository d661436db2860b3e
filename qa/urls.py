"""Pages of qa under /o/<org>/qa/."""

from django.urls import path
from django.views.generic import RedirectView

from .views import builder, reports, reviews

app_name = "qa"
urlpatterns: list = [
    path("", RedirectView.as_view(pattern_name="qa:home"), name="index"),
    path("reviews/", reviews.qa_home, name="home"),
    path("reviews/random/", reviews.review_random, name="review_random"),
    path("interactions/<uuid:interaction_id>/", reviews.interaction_page, name="interaction"),
    path("interactions/<uuid:interaction_id>/review/", reviews.review_start, name="review_start"),
    path("reviews/<uuid:review_id>/", reviews.review_detail, name="review_detail"),
    path("reviews/<uuid:review_id>/autosave/", reviews.review_autosave, name="review_autosave"),
    path("reviews/<uuid:review_id>/submit/", reviews.review_submit, name="review_submit"),
    path("reviews/<uuid:review_id>/discard/", reviews.review_discard, name="review_discard"),
    path("reviews/<uuid:review_id>/dispute/", reviews.dispute_new, name="dispute_new"),
    path("disputes/", reviews.dispute_list, name="dispute_list"),
    path("disputes/<uuid:dispute_id>/lead/", reviews.dispute_lead, name="dispute_lead"),
    path("disputes/<uuid:dispute_id>/decide/", reviews.dispute_decide, name="dispute_decide"),
    path("reports/", reports.qa_reports, name="reports"),
    path("reports/correlation/", reports.qa_correlation, name="correlation"),
    path("settings/", builder.qa_settings, name="settings"),
    path("scorecards/", builder.scorecard_list, name="scorecard_list"),
    path("scorecards/<uuid:scorecard_id>/", builder.scorecard_detail, name="scorecard_detail"),
    path(
        "scorecards/<uuid:scorecard_id>/versions/<uuid:version_id>/",
        builder.version_detail,
        name="version_detail",
    ),
    path(
        "scorecards/<uuid:scorecard_id>/settings/",
        builder.scorecard_settings,
        name="scorecard_settings",
    ),
    path("scorecards/<uuid:scorecard_id>/edit/", builder.scorecard_edit, name="scorecard_edit"),
    path(
        "scorecards/<uuid:scorecard_id>/publish/",
        builder.scorecard_publish,
        name="scorecard_publish",
    ),
    path(
        "scorecards/<uuid:scorecard_id>/archive/",
        builder.scorecard_archive,
        name="scorecard_archive",
    ),
    path("scorecards/<uuid:scorecard_id>/sections/", builder.section_add, name="section_add"),
    path("sections/<uuid:section_id>/", builder.section_edit, name="section_edit"),
    path("sections/<uuid:section_id>/delete/", builder.section_delete, name="section_delete"),
    path("sections/<uuid:section_id>/move/", builder.section_move, name="section_move"),
    path("sections/<uuid:section_id>/criteria/", builder.criterion_add, name="criterion_add"),
    path("criteria/<uuid:criterion_id>/", builder.criterion_edit, name="criterion_edit"),
    path("criteria/<uuid:criterion_id>/delete/", builder.criterion_delete, name="criterion_delete"),
    path("criteria/<uuid:criterion_id>/move/", builder.criterion_move, name="criterion_move"),
]

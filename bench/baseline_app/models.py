from django.db import models


class BaselineReview(models.Model):
    """The row the bare DRF baseline inserts (machine-and-stack-facts.md §4 (b)).

    Deliberately not a tenant model: the baseline measures Django + DRF + one INSERT without
    CoachHub's tenancy, so ingestion benchmarks can show what their own work costs on top."""

    org_id = models.IntegerField()
    agent_id = models.IntegerField()
    stars = models.SmallIntegerField()
    comment = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    processed = models.BooleanField(default=False)

    class Meta:
        db_table = "bench_baseline_review"

    def __str__(self):
        return f"review {self.pk}"

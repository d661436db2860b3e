"""The bare Celery task of ``bench_alerts``' baseline: the round trip's far end (a Redis RPUSH
the bench polls), nothing else."""

from celery import shared_task


@shared_task(name="bench.roundtrip", acks_late=True)
def roundtrip(*, key: str, marker: str) -> None:
    import redis
    from django.conf import settings

    global _redis
    try:
        client = _redis
    except NameError:
        client = _redis = redis.Redis.from_url(settings.REDIS_URL)
    client.rpush(settings.REDIS_KEY_PREFIX + ":" + key, marker)

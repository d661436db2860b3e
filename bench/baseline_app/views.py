"""Reference endpoints for benchmarks, served by the same gunicorn and middleware as the app.

Outside /o/ and /api/v1/, so TenancyMiddleware passes them through untouched; no
authentication (bare), JSON only (the project's DRF defaults)."""

from django.http import JsonResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import BaselineReview


class BaselineReviewSerializer(serializers.ModelSerializer):
    stars = serializers.IntegerField(min_value=1, max_value=5)

    class Meta:
        model = BaselineReview
        fields = ["org_id", "agent_id", "stars", "comment", "source"]


class DrfInsertView(APIView):
    """Bare DRF: validate a 5-field payload with a serializer and INSERT one row."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = BaselineReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = serializer.save()
        return Response({"id": review.pk}, status=201)


class DrfBulkInsertView(APIView):
    """Bare DRF bulk: ``ModelSerializer(many=True)`` on a list, then one ``bulk_create``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = BaselineReviewSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        rows = BaselineReview.objects.bulk_create(
            [BaselineReview(**item) for item in serializer.validated_data], batch_size=1000
        )
        return Response({"created": len(rows)}, status=200)


def plain_json(request):
    """Plain Django, no DRF, no database: the ceiling of the stack on this machine."""
    return JsonResponse({"status": "ok", "service": "coachhub", "bench": True})

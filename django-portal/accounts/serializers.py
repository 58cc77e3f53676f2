"""Wiring: request/response shapes of the auth API (validation and OpenAPI only, no logic)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class Credentials(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenPairOut(serializers.Serializer[dict[str, Any]]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshIn(serializers.Serializer[dict[str, Any]]):
    refresh = serializers.CharField(required=False, allow_blank=True)


class Me(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField()
    role = serializers.CharField()
    patient_ids = serializers.ListField(child=serializers.CharField(), allow_null=True)

"""
The `Permissions-Policy` header on every answer: the browser features no page of the portal
uses (camera, microphone, location, payment, USB, ad-interest tracking...) are switched off
for the page and for anything it might embed, so a script that got in could not ask for them.

Django has no setting for it (the Content-Security-Policy comes from django-csp, `nosniff`
and `Referrer-Policy` from Django's SecurityMiddleware). The features are listed in
settings.PERMISSIONS_POLICY, each with the origins allowed to use it (none, for all of them).
https://www.w3.org/TR/permissions-policy/
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

HEADER = "Permissions-Policy"


def render(policy: Mapping[str, Sequence[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` as `camera=(), fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class PermissionsPolicyMiddleware:
    """Add settings.PERMISSIONS_POLICY to every answer that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.value = render(settings.PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.value and not response.has_header(HEADER):
            response[HEADER] = self.value
        return response

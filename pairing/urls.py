"""URLs of the onboarding and devices API (under /api/)."""

from django.urls import path

from pairing import views

urlpatterns = [
    path("onboarding/qr", views.OnboardingQRView.as_view(), name="api-onboarding-qr"),
    path(
        "onboarding/deep-link",
        views.OnboardingDeepLinkView.as_view(),
        name="api-onboarding-deep-link",
    ),
    path(
        "onboarding/sessions", views.PairingSessionListView.as_view(), name="api-pairing-sessions"
    ),
    path(
        "onboarding/sessions/<str:pairing_id>",
        views.PairingSessionDetailView.as_view(),
        name="api-pairing-session",
    ),
    path("devices", views.DeviceListView.as_view(), name="api-devices"),
    path("devices/<int:pk>", views.DeviceDetailView.as_view(), name="api-device"),
    path("devices/<int:pk>/approve", views.DeviceApproveView.as_view(), name="api-device-approve"),
]

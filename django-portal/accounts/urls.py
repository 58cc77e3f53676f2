"""Wiring: /api/auth/ routes."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("token", views.TokenView.as_view(), name="auth-token"),
    path("login", views.LoginView.as_view(), name="auth-login"),
    path("refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("logout", views.LogoutView.as_view(), name="auth-logout"),
    path("me", views.MeView.as_view(), name="auth-me"),
]

"""Authorisation, in one place: who the caller is (Principal), which exact study a
StudyInstanceUID names (StudyRef), the policy, and the cached Authoriser that DRF views and the
image gateway both ask. This package imports no other portal app: accounts and clinical hand it
their read functions at start-up (authz.wiring)."""

"""The image archive (Orthanc) as the portal reaches it: the REST adapter and the process's
shared client. Imports no portal app, so every app may use it."""

"""The native runner: renders every service's config into var/ and runs them under supervisord."""

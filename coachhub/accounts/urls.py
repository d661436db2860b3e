"""Organization pages for people, teams and API keys (under /o/<org>/)."""

urlpatterns: list = []

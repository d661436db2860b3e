"""Pages of qa under /o/<org>/qa/."""

app_name = "qa"
urlpatterns: list = []

"""Pages of feedback under /o/<org>/feedback/."""

app_name = "feedback"
urlpatterns: list = []

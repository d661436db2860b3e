"""Pages of coaching under /o/<org>/coaching/."""

app_name = "coaching"
urlpatterns: list = []
